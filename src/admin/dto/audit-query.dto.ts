import { ApiProperty, ApiPropertyOptional, PickType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsString, Matches, Max, Min } from 'class-validator';
import { IsInstant } from '../../common/dates';
import { OptionalNotNull } from '../../common/dto';
import { IsTenantRef } from '../../common/identifiers';

export const MAX_AUDIT_PAGE = 500;

/** Newest first, keyset pagination by id: pass the previous page's nextBefore as `before`. */
export class AuditQueryDto {
  @ApiPropertyOptional({ description: 'The tenant\'s id or slug. Forced to the key\'s own tenant for a tenant-scoped key' })
  @OptionalNotNull()
  @IsString({ message: 'tenantId must be a tenant id (UUID) or slug' })
  @IsTenantRef()
  tenantId?: string;

  @ApiPropertyOptional({ example: 'target.updated' })
  @OptionalNotNull()
  @IsString()
  @Matches(/^[a-z0-9_.]{1,64}$/, { message: 'type must be an event type such as tenant.created' })
  type?: string;

  @ApiPropertyOptional({ description: 'Events at or after this instant (ISO 8601 calendar date or date-time; no zone: UTC)', example: '2025-01-31T12:00:00Z' })
  @OptionalNotNull()
  @IsInstant('from')
  from?: string;

  @ApiPropertyOptional({ description: 'Events before this instant (ISO 8601 calendar date or date-time; no zone: UTC)', example: '2025-02-01' })
  @OptionalNotNull()
  @IsInstant('to')
  to?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_AUDIT_PAGE, default: 100 })
  @OptionalNotNull()
  @Type(() => Number)
  @IsInt({ message: `limit must be a whole number from 1 to ${MAX_AUDIT_PAGE}` })
  @Min(1, { message: `limit must be a whole number from 1 to ${MAX_AUDIT_PAGE}` })
  @Max(MAX_AUDIT_PAGE, { message: `limit must be a whole number from 1 to ${MAX_AUDIT_PAGE}` })
  limit: number = 100;

  @ApiPropertyOptional({ description: 'Events with an id below this one (the previous page\'s nextBefore)' })
  @OptionalNotNull()
  @IsString()
  @Matches(/^[1-9][0-9]{0,17}$/, { message: 'before must be an event id' })
  before?: string;
}

export class AuditEventDto {
  @ApiProperty({ description: 'Increasing; a string (64-bit)' }) id: string;
  @ApiProperty({ example: 'target.created' }) type: string;
  @ApiProperty({ example: 'apikey:6f1c…' }) actor: string;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) tenantId: string | null;
  @ApiProperty({ type: String, nullable: true }) ip: string | null;
  @ApiProperty({ type: String, nullable: true }) requestId: string | null;
  @ApiProperty() at: Date;
  @ApiProperty({ type: 'object', additionalProperties: true }) details: Record<string, unknown>;
}

export class AuditPageDto {
  @ApiProperty({ type: [AuditEventDto] }) items: AuditEventDto[];
  @ApiProperty({ type: String, nullable: true, description: 'Pass as `before` for the next (older) page; null on the last page' })
  nextBefore: string | null;
}

export const EXPORT_FORMATS = ['ndjson', 'csv'] as const;

/** The list's filters, every matching event, streamed (newest first). */
export class AuditExportQueryDto extends PickType(AuditQueryDto, ['tenantId', 'type', 'from', 'to'] as const) {
  @ApiPropertyOptional({ enum: EXPORT_FORMATS, default: 'ndjson', description: 'ndjson: one event (as the list\'s items) per line; csv: RFC 4180 with a header row, details as JSON' })
  @OptionalNotNull()
  @IsIn(EXPORT_FORMATS, { message: 'format must be ndjson or csv' })
  format: (typeof EXPORT_FORMATS)[number] = 'ndjson';
}
