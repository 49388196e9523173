import { ApiProperty, ApiPropertyOptional, ApiPropertyOptions } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsObject, IsOptional, IsString, Length, MaxLength, ValidateIf } from 'class-validator';
import { IsSlug, NotUuidShaped, SLUG, Trim } from '../../common/identifiers';
import { MAX_SECRET_LENGTH } from '../../catalog/dto/target-input';
import type { TargetKind, TargetSettings } from '../../catalog/target.entity';
import { TARGET_DEFINITIONS, TARGET_KINDS } from '../../products';
import { OptionalNotNull } from '../../common/dto';

const KIND_MESSAGE = `kind must be one of ${TARGET_KINDS.join(', ')}`;

/** The raw JSON value, as parsed: settings are validated per product by the target definitions. */
const keepRaw = () => Transform(({ obj, key }) => (obj as Record<string, unknown>)[key]);

const SECRET_DOC = `Write-only: stored sealed, never returned (responses list secretsSet). At most ${MAX_SECRET_LENGTH} characters; placeholders refused.`;

/**
 * Generated from the product definitions (src/products/): one schema per kind, as validated.
 * No `type` of its own: each branch is an object (see SETTINGS_SCHEMA in access.dto.ts).
 */
const SETTINGS_SCHEMA = {
  description: 'Product settings, checked against the schema of the target\'s kind (unknown keys are refused).',
  oneOf: TARGET_DEFINITIONS.map((d) => ({ ...d.settingsSchema, title: `${d.label} (kind ${d.kind})` })),
} as ApiPropertyOptions & { description: string };

/** Each product's named secrets, from its definition. */
const SECRETS_SCHEMA = {
  type: 'object' as const,
  writeOnly: true,
  additionalProperties: { type: 'string' as const },
  description:
    `Secret name -> value. ${SECRET_DOC} Per kind: ` +
    TARGET_DEFINITIONS.map((d) => `${d.kind}: ${d.secrets.map((x) => `${x.name}${x.required ? '' : '?'} (${x.description}; at least ${x.minLength} characters)`).join(', ')}`).join('; '),
};

export class CreateTargetDto {
  @ApiProperty({ pattern: SLUG.source, example: 'metabase-prod' })
  @IsString()
  @IsSlug()
  @NotUuidShaped()
  slug: string;

  @ApiProperty({ enum: TARGET_KINDS as string[] })
  @IsIn(TARGET_KINDS as string[], { message: KIND_MESSAGE })
  kind: TargetKind;

  @ApiPropertyOptional({ maxLength: 200, example: 'Metabase (production)' })
  @OptionalNotNull()
  @Trim()
  @IsString()
  @MaxLength(200)
  name?: string;

  @ApiProperty({ example: 'https://metabase.example.com', description: 'Absolute http(s) URL, no query or fragment; a trailing slash is removed' })
  @IsString()
  @Length(1, 2048)
  baseUrl: string;

  @ApiPropertyOptional(SECRETS_SCHEMA)
  @OptionalNotNull()
  @keepRaw()
  @IsObject()
  secrets?: Record<string, string>;

  @ApiPropertyOptional({ writeOnly: true, description: `Same as secrets.secret. ${SECRET_DOC}` })
  @OptionalNotNull()
  @IsString({ message: 'secret must be a string' })
  secret?: string;

  @ApiPropertyOptional({ writeOnly: true, description: `Same as secrets.embeddingSecret. ${SECRET_DOC}` })
  @OptionalNotNull()
  @IsString({ message: 'embeddingSecret must be a string' })
  embeddingSecret?: string;

  @ApiPropertyOptional(SETTINGS_SCHEMA)
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
  @ApiPropertyOptional({ pattern: SLUG.source })
  @OptionalNotNull()
  @IsString()
  @IsSlug()
  @NotUuidShaped()
  slug?: string;

  @ApiPropertyOptional({ enum: TARGET_KINDS as string[], description: 'Changing the kind re-checks the settings and secrets against the new product' })
  @OptionalNotNull()
  @IsIn(TARGET_KINDS as string[], { message: KIND_MESSAGE })
  kind?: TargetKind;

  @ApiPropertyOptional({ maxLength: 200 })
  @OptionalNotNull()
  @Trim()
  @IsString()
  @MaxLength(200)
  name?: string;

  @ApiPropertyOptional()
  @OptionalNotNull()
  @IsString()
  @Length(1, 2048)
  baseUrl?: string;

  @ApiPropertyOptional({ ...SECRETS_SCHEMA, additionalProperties: { type: 'string', nullable: true }, description: `Replaces the named secrets sent; null removes an optional one. ${SECRETS_SCHEMA.description}` })
  @OptionalNotNull()
  @keepRaw()
  @IsObject()
  secrets?: Record<string, string | null>;

  @ApiPropertyOptional({ writeOnly: true, description: `Same as secrets.secret. ${SECRET_DOC}` })
  @OptionalNotNull()
  @IsString({ message: 'secret must be a string' })
  secret?: string;

  @ApiPropertyOptional({ type: String, writeOnly: true, nullable: true, description: `Same as secrets.embeddingSecret (null removes it). ${SECRET_DOC}` })
  @IsOptional()
  @ValidateIf((_o, v) => v !== null)
  @IsString({ message: 'embeddingSecret must be a string or null' })
  embeddingSecret?: string | null;

  @ApiPropertyOptional({ ...SETTINGS_SCHEMA, description: `Replaces all settings. ${SETTINGS_SCHEMA.description}` } as ApiPropertyOptions)
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
  @ApiProperty({ enum: TARGET_KINDS as string[] }) kind: TargetKind;
  @ApiProperty() name: string;
  @ApiProperty() baseUrl: string;
  @ApiProperty(SETTINGS_SCHEMA) settings: TargetSettings;
  @ApiProperty() disabled: boolean;
  @ApiProperty({ description: 'Whether the secret named "secret" is set (the secret itself is never returned)' }) hasSecret: boolean;
  @ApiProperty({ type: [String], description: 'Names of the secrets that are set (never their values)' }) secretsSet: string[];
  @ApiProperty() createdAt: Date;
  @ApiProperty() updatedAt: Date;
}

export class TargetListDto {
  @ApiProperty({ type: [TargetDto] }) items: TargetDto[];
}

/** One signing key pair of a key-pair target (the public half only). */
export class TargetKeyDto {
  @ApiProperty({ description: 'The JWS kid (RFC 7638 thumbprint of the public key)' }) kid: string;
  @ApiProperty({ enum: ['RS256', 'ES256'] }) alg: string;
  @ApiProperty({ enum: ['next', 'active', 'retiring', 'retired'], description: 'next: published, signs from signsFrom; active: signs; retiring: published until unpublishAt; retired: gone from the JWKS' })
  state: string;
  @ApiProperty() createdAt: Date;
  @ApiProperty() signsFrom: Date;
  @ApiProperty({ type: Date, nullable: true }) supersededAt: Date | null;
  @ApiProperty({ type: Date, nullable: true }) unpublishAt: Date | null;
  @ApiProperty({ description: 'The public key, SPKI PEM (for products that take a pasted key)' }) publicKeyPem: string;
}

export class TargetKeyListDto {
  @ApiProperty({ type: [TargetKeyDto] }) items: TargetKeyDto[];
}
