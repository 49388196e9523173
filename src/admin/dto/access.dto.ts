import { ApiProperty, ApiPropertyOptional, ApiPropertyOptions } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsObject } from 'class-validator';
import type { AccessSettings, GroupMappings } from '../../catalog/access.entity';
import type { TargetKind } from '../../catalog/target.entity';
import { TARGET_DEFINITIONS, TARGET_KINDS } from '../../products';
import type { FlatAttributes } from '../../tenants/tenant.entity';
import { OptionalNotNull } from '../../common/dto';
import { ATTRIBUTES_SCHEMA } from '../../tenants/attributes';

/** The raw JSON value: the contents are checked against the target's kind by AccessService. */
const keepRaw = () => Transform(({ obj, key }) => (obj as Record<string, unknown>)[key]);

/**
 * Generated from the product definitions (src/products/): one schema per kind, as validated.
 * No `type` of its own: each branch is an object, and @nestjs/swagger writes an explicit
 * `type` next to the `oneOf`, which reads as a shapeless object.
 */
const SETTINGS_SCHEMA: ApiPropertyOptions = {
  description: 'Per-product settings of the access, checked against the schema of the target\'s kind; settings for another product are refused.',
  oneOf: TARGET_DEFINITIONS.map((d) => ({ ...d.accessSettingsSchema, title: `${d.label} (kind ${d.kind})` })),
} as ApiPropertyOptions;

/** PUT replaces the whole grant: omitted parts become empty. */
export class PutAccessDto {
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { type: 'array', items: { type: 'string' } },
    description: 'local group name -> the product group names it maps to',
    example: { analysts: ['Analysts'], admins: ['Administrators'] },
  })
  @OptionalNotNull()
  @keepRaw()
  @IsObject()
  groupMappings?: GroupMappings;

  @ApiPropertyOptional({ ...ATTRIBUTES_SCHEMA, description: 'Attributes sent for this tenant\'s users to this target' })
  @OptionalNotNull()
  @keepRaw()
  @IsObject()
  attributes?: FlatAttributes;

  @ApiPropertyOptional(SETTINGS_SCHEMA)
  @OptionalNotNull()
  @keepRaw()
  @IsObject()
  settings?: AccessSettings;
}

export class AccessDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) tenantId: string;
  @ApiProperty({ format: 'uuid' }) targetId: string;
  @ApiProperty() targetSlug: string;
  @ApiProperty({ enum: TARGET_KINDS as string[] }) targetKind: TargetKind;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } }) groupMappings: GroupMappings;
  @ApiProperty(ATTRIBUTES_SCHEMA) attributes: FlatAttributes;
  @ApiProperty(SETTINGS_SCHEMA) settings: AccessSettings;
  @ApiProperty() createdAt: Date;
  @ApiProperty() updatedAt: Date;
}

export class AccessListDto {
  @ApiProperty({ type: [AccessDto] }) items: AccessDto[];
}
