import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { Trim } from '../../common/identifiers';
import { IsOptional, IsString, Length, Matches, ValidateBy, ValidationOptions } from 'class-validator';
import { ACCENT_COLOR, supportHref } from '../../common/look';
import { httpsUrl } from '../../common/redirects';
import type { Tenant } from '../tenant.entity';

/** A validator from one of look.ts's rules (the same function the renderer checks with). */
const Satisfies = (name: string, rule: (v: unknown) => unknown, options: ValidationOptions) =>
  ValidateBy({ name, validator: { validate: (v: unknown) => rule(v) !== null } }, options);

/**
 * A tenant's look, editable by the tenant's own key (it is their page). Every field is
 * optional; null clears it. Nothing here can become markup, CSS or a script link: the name
 * refuses angle brackets and control characters (and is escaped anyway), the colour is
 * strictly #rrggbb, URLs are https only.
 */
export class BrandingDto {
  @ApiPropertyOptional({ type: String, nullable: true, maxLength: 200, example: 'Acme Analytics', description: 'Shown as what the visitor signs in to (default: the tenant name)' })
  @IsOptional()
  @Trim()
  @IsString({ message: 'displayName must be a string' })
  @Length(1, 200, { message: 'displayName must be 1 to 200 characters long' })
  // eslint-disable-next-line no-control-regex
  @Matches(/^[^<>\u0000-\u001f\u007f]*$/, { message: 'displayName must not contain < > or control characters' })
  displayName?: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, maxLength: 2048, example: 'https://cdn.acme.example/logo.svg' })
  @IsOptional()
  @Transform(({ value }) => httpsUrl(value) ?? value)
  @Satisfies('isHttpsUrl', httpsUrl, { message: 'logoUrl must be an https:// URL (at most 2048 characters, no credentials)' })
  logoUrl?: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, pattern: '^#[0-9a-fA-F]{6}$', example: '#0a7d4f', description: 'Buttons and the page edge; text on it is black or white, whichever contrasts more' })
  @IsOptional()
  @Transform(({ value }) => (typeof value === 'string' ? value.toLowerCase() : value))
  @Matches(ACCENT_COLOR, { message: 'accentColor must be a colour written #rrggbb (six hex digits)' })
  accentColor?: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, example: 'help@acme.example', description: 'An email address or an https:// URL' })
  @IsOptional()
  @Transform(({ value }) => (typeof value === 'string' ? (httpsUrl(value.trim()) ?? value.trim()) : value))
  @Satisfies('isSupportContact', supportHref, { message: 'supportContact must be an email address or an https:// URL' })
  supportContact?: string | null;
}

export class BrandingViewDto {
  @ApiPropertyOptional({ type: String, nullable: true })
  displayName: string | null;

  @ApiPropertyOptional({ type: String, nullable: true })
  logoUrl: string | null;

  @ApiPropertyOptional({ type: String, nullable: true })
  accentColor: string | null;

  @ApiPropertyOptional({ type: String, nullable: true })
  supportContact: string | null;
}

/** The entity's columns for a branding change (undefined: leave as is, null: clear). */
export function brandingColumns(b: BrandingDto | undefined): Partial<Pick<Tenant, 'brandDisplayName' | 'brandLogoUrl' | 'brandAccentColor' | 'brandSupportContact'>> {
  if (!b) return {};
  return {
    brandDisplayName: b.displayName,
    brandLogoUrl: b.logoUrl,
    brandAccentColor: b.accentColor,
    brandSupportContact: b.supportContact,
  };
}

export function toBrandingView(t: Tenant): BrandingViewDto {
  return {
    displayName: t.brandDisplayName,
    logoUrl: t.brandLogoUrl,
    accentColor: t.brandAccentColor,
    supportContact: t.brandSupportContact,
  };
}
