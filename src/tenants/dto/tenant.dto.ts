import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsBoolean, IsObject, IsOptional, IsString, Length, MaxLength, ValidateNested } from 'class-validator';
import { OperatorOnly } from '../../common/route-protection';
import { IsSlug, NotUuidShaped, SLUG, Trim } from '../../common/identifiers';
import { IsHttpUrl } from '../../common/redirects';
import { IsFlatAttributes, ATTRIBUTES_SCHEMA } from '../attributes';
import type { FlatAttributes, Tenant } from '../tenant.entity';
import { BrandingDto, BrandingViewDto, toBrandingView } from './branding.dto';
import { OptionalNotNull, PageMetaDto } from '../../common/dto';


const URL_MESSAGE = 'logoutLandingUrl must be an absolute http(s) URL';

export class CreateTenantDto {
  @ApiProperty({ pattern: SLUG.source, example: 'acme', description: 'Unique, immutable; used in login URLs' })
  @IsString()
  @IsSlug()
  @NotUuidShaped()
  slug: string;

  @ApiProperty({ maxLength: 200, example: 'Acme Corp' })
  @Trim()
  @IsString()
  @Length(1, 200, { message: 'name must be 1 to 200 characters long' })
  name: string;

  @ApiPropertyOptional(ATTRIBUTES_SCHEMA)
  @OptionalNotNull()
  @IsFlatAttributes()
  attributes?: FlatAttributes;

  @ApiPropertyOptional({ default: false })
  @OptionalNotNull()
  @IsBoolean()
  disabled?: boolean;

  @ApiPropertyOptional({ type: String, format: 'uri', nullable: true, example: 'https://app.acme.example/signed-out', description: 'Where logout may send the user back to' })
  @IsOptional()
  @IsHttpUrl(URL_MESSAGE)
  @MaxLength(2048)
  logoutLandingUrl?: string | null;

  @ApiPropertyOptional({ type: BrandingDto, description: 'The tenant\'s look on login, signed-out and error pages; each field optional, null clears it' })
  @OptionalNotNull()
  @IsObject({ message: 'branding must be an object' })
  @ValidateNested()
  @Type(() => BrandingDto)
  branding?: BrandingDto;
}

/**
 * The slug is not changeable: it is the tenant's identity in login URLs and in Metabase,
 * where a user can never move between tenants (CONTRACTS.md). Sending it is a 400.
 */
export class UpdateTenantDto {
  @ApiPropertyOptional({ maxLength: 200 })
  @OptionalNotNull()
  @Trim()
  @IsString()
  @Length(1, 200, { message: 'name must be 1 to 200 characters long' })
  name?: string;

  @ApiPropertyOptional(ATTRIBUTES_SCHEMA)
  @OptionalNotNull()
  @IsFlatAttributes()
  attributes?: FlatAttributes;

  @ApiPropertyOptional({ description: 'Disabling ends every session of the tenant at once. Global key only' })
  @OperatorOnly()
  @OptionalNotNull()
  @IsBoolean()
  disabled?: boolean;

  @ApiPropertyOptional({ type: String, format: 'uri', nullable: true, description: 'Where logout may send the user back to; null clears it' })
  @IsOptional()
  @IsHttpUrl(URL_MESSAGE)
  @MaxLength(2048)
  logoutLandingUrl?: string | null;

  @ApiPropertyOptional({ type: BrandingDto, description: 'The tenant\'s look on login, signed-out and error pages; each field optional, null clears it' })
  @OptionalNotNull()
  @IsObject({ message: 'branding must be an object' })
  @ValidateNested()
  @Type(() => BrandingDto)
  branding?: BrandingDto;
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
    createdAt: t.createdAt,
    updatedAt: t.updatedAt,
  };
}
