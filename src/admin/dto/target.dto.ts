import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsObject, IsOptional, IsString, Length, Matches, MaxLength, ValidateIf } from 'class-validator';
import { MAX_SECRET_LENGTH, MIN_SECRET_LENGTH, TARGET_SLUG } from '../../sso/dto/target-input';
import { TARGET_KINDS, TargetKind, TargetSettings } from '../../sso/target.entity';
import { NotUuidShaped, OptionalNotNull } from '../../tenants/dto/common.dto';

const SLUG_MESSAGE = 'slug must be 1-63 lower-case letters, digits or hyphens, starting with a letter or digit (^[a-z0-9][a-z0-9-]{0,62}$)';
const KIND_MESSAGE = `kind must be one of ${TARGET_KINDS.join(', ')}`;
const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

/** The raw JSON value, as parsed: settings are validated per product by the target definitions. */
const keepRaw = () => Transform(({ obj, key }) => (obj as Record<string, unknown>)[key]);

const SECRET_DOC = `Write-only: stored sealed, never returned (responses show hasSecret). ${MIN_SECRET_LENGTH} to ${MAX_SECRET_LENGTH} characters.`;
const SETTINGS_DOC =
  'Product settings, checked per kind (unknown keys are refused). Metabase: emailClaim, firstNameClaim, lastNameClaim, ' +
  'groupsClaim, tokenTtlSeconds, embedTtlSeconds, tenantsEnabled, allowedOrigins, logoutLandingUrl; Sisense: emailClaim, ' +
  'firstNameClaim, lastNameClaim, tokenTtlSeconds, allowedOrigins, logoutLandingUrl; Databricks: clientId, workspaceId, allowedOrigins.';

export class CreateTargetDto {
  @ApiProperty({ pattern: TARGET_SLUG.source, example: 'metabase-prod' })
  @IsString()
  @Matches(TARGET_SLUG, { message: SLUG_MESSAGE })
  @NotUuidShaped()
  slug: string;

  @ApiProperty({ enum: TARGET_KINDS })
  @IsIn(TARGET_KINDS, { message: KIND_MESSAGE })
  kind: TargetKind;

  @ApiPropertyOptional({ maxLength: 200, example: 'Metabase (production)' })
  @OptionalNotNull()
  @Transform(trim)
  @IsString()
  @MaxLength(200)
  name?: string;

  @ApiProperty({ example: 'https://metabase.example.com', description: 'Absolute http(s) URL, no query or fragment; a trailing slash is removed' })
  @IsString()
  @Length(1, 2048)
  baseUrl: string;

  @ApiProperty({ writeOnly: true, description: `JWT shared secret (Metabase, Sisense) or service principal secret (Databricks). ${SECRET_DOC}` })
  @IsString({ message: 'secret must be a string' })
  secret: string;

  @ApiPropertyOptional({ writeOnly: true, description: `Metabase static-embedding secret key. ${SECRET_DOC}` })
  @OptionalNotNull()
  @IsString({ message: 'embeddingSecret must be a string' })
  embeddingSecret?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: SETTINGS_DOC })
  @OptionalNotNull()
  @keepRaw()
  @IsObject()
  settings?: Record<string, unknown>;

  @ApiPropertyOptional({ default: false })
  @OptionalNotNull()
  @IsBoolean()
  disabled?: boolean;
}

/** Any field; a secret is replaced only when sent; `settings` replaces the whole object. */
export class UpdateTargetDto {
  @ApiPropertyOptional({ pattern: TARGET_SLUG.source })
  @OptionalNotNull()
  @IsString()
  @Matches(TARGET_SLUG, { message: SLUG_MESSAGE })
  @NotUuidShaped()
  slug?: string;

  @ApiPropertyOptional({ enum: TARGET_KINDS, description: 'Changing the kind re-checks the settings and secrets against the new product' })
  @OptionalNotNull()
  @IsIn(TARGET_KINDS, { message: KIND_MESSAGE })
  kind?: TargetKind;

  @ApiPropertyOptional({ maxLength: 200 })
  @OptionalNotNull()
  @Transform(trim)
  @IsString()
  @MaxLength(200)
  name?: string;

  @ApiPropertyOptional()
  @OptionalNotNull()
  @IsString()
  @Length(1, 2048)
  baseUrl?: string;

  @ApiPropertyOptional({ writeOnly: true, description: `Replaces the secret. ${SECRET_DOC}` })
  @OptionalNotNull()
  @IsString({ message: 'secret must be a string' })
  secret?: string;

  @ApiPropertyOptional({ writeOnly: true, nullable: true, description: `Replaces the embedding secret; null removes it. ${SECRET_DOC}` })
  @IsOptional()
  @ValidateIf((_o, v) => v !== null)
  @IsString({ message: 'embeddingSecret must be a string or null' })
  embeddingSecret?: string | null;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: `Replaces all settings. ${SETTINGS_DOC}` })
  @OptionalNotNull()
  @keepRaw()
  @IsObject()
  settings?: Record<string, unknown>;

  @ApiPropertyOptional({ description: 'A disabled target signs no tokens' })
  @OptionalNotNull()
  @IsBoolean()
  disabled?: boolean;
}

export class TargetDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() slug: string;
  @ApiProperty({ enum: TARGET_KINDS }) kind: TargetKind;
  @ApiProperty() name: string;
  @ApiProperty() baseUrl: string;
  @ApiProperty({ type: 'object', additionalProperties: true }) settings: TargetSettings;
  @ApiProperty() disabled: boolean;
  @ApiProperty({ description: 'Whether a secret is set (the secret itself is never returned)' }) hasSecret: boolean;
  @ApiProperty() hasEmbeddingSecret: boolean;
  @ApiProperty() createdAt: Date;
  @ApiProperty() updatedAt: Date;
}

export class TargetListDto {
  @ApiProperty({ type: [TargetDto] }) items: TargetDto[];
}
