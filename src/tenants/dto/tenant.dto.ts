import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsBoolean, IsIn, IsObject, IsOptional, IsString, Length, MaxLength, ValidateNested } from 'class-validator';
import { OperatorOnly } from '../../common/route-protection';
import { IsSlug, NotUuidShaped, SLUG, Trim } from '../../common/identifiers';
import { IsHttpUrl } from '../../common/redirects';
import { IsFlatAttributes, ATTRIBUTES_SCHEMA } from '../attributes';
import { MFA_POLICIES, type FlatAttributes, type MfaPolicy, type Tenant } from '../tenant.entity';
import { BrandingDto, BrandingViewDto, toBrandingView } from './branding.dto';
import { OptionalNotNull, PageMetaDto } from '../../common/dto';

const URL_MESSAGE = 'logoutLandingUrl must be an absolute http(s) URL';
const BRANDING_DESCRIPTION = "The tenant's look on login, signed-out and error pages; each field optional, null clears it";

// The rules of each field, once: creating and updating a tenant check a value alike.
const TenantName = () => applyDecorators(Trim(), IsString(), Length(1, 200, { message: 'name must be 1 to 200 characters long' }));
const TenantAttributes = () => applyDecorators(ApiPropertyOptional(ATTRIBUTES_SCHEMA), OptionalNotNull(), IsFlatAttributes());
const TenantDisabled = () => applyDecorators(OptionalNotNull(), IsBoolean());
const LogoutLandingUrl = () => applyDecorators(IsOptional(), IsHttpUrl(URL_MESSAGE), MaxLength(2048));
const MFA_POLICY_DESCRIPTION =
  'Second factor at password sign-in: off, optional (users who set one up are asked), required (every user sets one up at their next sign-in). Hand-offs skip it';
const TenantMfaPolicy = () =>
  applyDecorators(
    ApiPropertyOptional({ enum: MFA_POLICIES, default: 'off', description: MFA_POLICY_DESCRIPTION }),
    OptionalNotNull(),
    IsIn(MFA_POLICIES, { message: 'mfaPolicy must be one of off, optional, required' }),
  );
const PASSWORD_SIGN_IN_DESCRIPTION =
  'When the tenant has its own identity provider (company sign-in): whether its people may still sign in with a password. false refuses the password form and sends them to company sign-in; no effect without a provider';
const TenantPasswordSignIn = () =>
  applyDecorators(ApiPropertyOptional({ default: true, description: PASSWORD_SIGN_IN_DESCRIPTION }), OptionalNotNull(), IsBoolean({ message: 'passwordSignIn must be true or false' }));
const TenantBranding = () =>
  applyDecorators(
    ApiPropertyOptional({ type: BrandingDto, description: BRANDING_DESCRIPTION }),
    OptionalNotNull(),
    IsObject({ message: 'branding must be an object' }),
    ValidateNested(),
    Type(() => BrandingDto),
  );

export class CreateTenantDto {
  @ApiProperty({ pattern: SLUG.source, example: 'acme', description: 'Unique, immutable; used in login URLs' })
  @IsString()
  @IsSlug()
  @NotUuidShaped()
  slug: string;

  @ApiProperty({ maxLength: 200, example: 'Acme Corp' })
  @TenantName()
  name: string;

  @TenantAttributes()
  attributes?: FlatAttributes;

  @ApiPropertyOptional({ default: false })
  @TenantDisabled()
  disabled?: boolean;

  @ApiPropertyOptional({ type: String, format: 'uri', nullable: true, example: 'https://app.acme.example/signed-out', description: 'Where logout may send the user back to' })
  @LogoutLandingUrl()
  logoutLandingUrl?: string | null;

  @TenantBranding()
  branding?: BrandingDto;

  @TenantMfaPolicy()
  mfaPolicy?: MfaPolicy;

  @TenantPasswordSignIn()
  passwordSignIn?: boolean;
}

/**
 * The slug is not changeable: it is the tenant's identity in login URLs and in Metabase,
 * where a user can never move between tenants. Sending it is a 400.
 */
export class UpdateTenantDto {
  @ApiPropertyOptional({ maxLength: 200 })
  @OptionalNotNull()
  @TenantName()
  name?: string;

  @TenantAttributes()
  attributes?: FlatAttributes;

  @ApiPropertyOptional({ description: 'Disabling ends every session of the tenant at once. Global key only' })
  @OperatorOnly()
  @TenantDisabled()
  disabled?: boolean;

  @ApiPropertyOptional({ type: String, format: 'uri', nullable: true, description: 'Where logout may send the user back to; null clears it' })
  @LogoutLandingUrl()
  logoutLandingUrl?: string | null;

  @TenantBranding()
  branding?: BrandingDto;

  @TenantMfaPolicy()
  mfaPolicy?: MfaPolicy;

  @TenantPasswordSignIn()
  passwordSignIn?: boolean;
}

export class TenantDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty()
  slug: string;

  @ApiProperty()
  name: string;

  @ApiProperty(ATTRIBUTES_SCHEMA)
  attributes: FlatAttributes;

  @ApiProperty()
  disabled: boolean;

  @ApiProperty({ type: String, nullable: true })
  logoutLandingUrl: string | null;

  @ApiProperty({ type: BrandingViewDto })
  branding: BrandingViewDto;

  @ApiProperty({ enum: MFA_POLICIES })
  mfaPolicy: MfaPolicy;

  @ApiProperty({ description: PASSWORD_SIGN_IN_DESCRIPTION })
  passwordSignIn: boolean;

  @ApiProperty()
  createdAt: Date;

  @ApiProperty()
  updatedAt: Date;
}

export class TenantPageDto extends PageMetaDto {
  @ApiProperty({ type: [TenantDto] })
  items: TenantDto[];
}

/** Responses are built field by field: nothing reaches the client by accident. */
export function toTenantDto(t: Tenant): TenantDto {
  return {
    id: t.id,
    slug: t.slug,
    name: t.name,
    attributes: t.attributes,
    disabled: t.disabled,
    logoutLandingUrl: t.logoutLandingUrl,
    branding: toBrandingView(t),
    mfaPolicy: t.mfaPolicy,
    passwordSignIn: t.passwordSignIn,
    createdAt: t.createdAt,
    updatedAt: t.updatedAt,
  };
}
