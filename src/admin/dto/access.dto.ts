import { ApiProperty, ApiPropertyOptional, ApiPropertyOptions } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsObject } from 'class-validator';
import type { AccessSettings, GroupMappings } from '../../sso/access.entity';
import { TARGET_KINDS, TargetKind } from '../../sso/target.entity';
import type { FlatAttributes } from '../../tenants/tenant.entity';
import { ATTRIBUTES_SCHEMA, OptionalNotNull } from '../../tenants/dto/common.dto';

/** The raw JSON value: the contents are checked against the target's kind by AccessService. */
const keepRaw = () => Transform(({ obj, key }) => (obj as Record<string, unknown>)[key]);

const SETTINGS_SCHEMA: ApiPropertyOptions = {
  type: 'object',
  properties: {
    sisenseTenantName: { type: 'string', description: 'Sisense organization tenant name (URL prefix)' },
    sisenseTenantId: { type: 'string', description: 'Sisense organization tenant id (tenantId claim)' },
    metabaseTenantSlug: { type: 'string', pattern: '^[-_a-z0-9]{1,255}$', description: 'Metabase @tenant' },
    sharedAccount: {
      type: 'object',
      properties: { email: { type: 'string' }, firstName: { type: 'string' }, lastName: { type: 'string' } },
      required: ['email'],
      description: 'Every user of the tenant signs in as this one BI account',
    },
    lockedParams: { type: 'object', additionalProperties: { type: 'string' }, description: 'signed-embed parameter -> attribute name' },
    externalValueAttribute: { type: 'string', description: 'attribute sent as Databricks external_value' },
  },
  additionalProperties: false,
  description:
    'sisenseTenantName + sisenseTenantId (Sisense organization tenant), metabaseTenantSlug (^[-_a-z0-9]{1,255}$), ' +
    'sharedAccount {email, firstName?, lastName?} (Metabase, Sisense), lockedParams {param: attributeName} (Metabase), ' +
    'externalValueAttribute (Databricks). Settings for another product are refused.',
  example: { metabaseTenantSlug: 'acme', lockedParams: { customer_id: 'customerId' } },
};

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
  @ApiProperty({ enum: TARGET_KINDS }) targetKind: TargetKind;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } }) groupMappings: GroupMappings;
  @ApiProperty(ATTRIBUTES_SCHEMA) attributes: FlatAttributes;
  @ApiProperty(SETTINGS_SCHEMA) settings: AccessSettings;
  @ApiProperty() createdAt: Date;
  @ApiProperty() updatedAt: Date;
}

export class AccessListDto {
  @ApiProperty({ type: [AccessDto] }) items: AccessDto[];
}
