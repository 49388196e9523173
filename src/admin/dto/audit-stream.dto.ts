import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsBoolean, IsInt, IsString, Length, Matches, Max, Min } from 'class-validator';
import { IsInstant } from '../../common/dates';
import { OptionalNotNull } from '../../common/dto';
import { IsTenantRef } from '../../common/identifiers';

export class CreateAuditStreamDto {
  @ApiProperty({ example: 'Splunk HEC relay' })
  @IsString({ message: 'name must be text' })
  @Length(1, 100, { message: 'name must be 1 to 100 characters' })
  name: string;

  @ApiProperty({ example: 'https://siem.example.com/hooks/embed-idp', description: 'https; a public address in production' })
  @IsString({ message: 'url must be a URL' })
  @Length(1, 2048, { message: 'url must be at most 2048 characters' })
  url: string;

  @ApiPropertyOptional({ description: "The tenant whose events go there (id or slug); absent: every tenant's and global events. Forced to a tenant-scoped key's own tenant" })
  @OptionalNotNull()
  @IsString({ message: 'tenantId must be a tenant id (UUID) or slug' })
  @IsTenantRef()
  tenantId?: string;

  @ApiPropertyOptional({ type: [String], example: ['login.failure', 'sso.denied'], description: 'Event types sent; absent or empty: all' })
  @OptionalNotNull()
  @IsArray({ message: 'eventTypes must be a list of event types' })
  @ArrayMaxSize(100, { message: 'eventTypes may list at most 100 types' })
  @Matches(/^[a-z0-9_.]{1,64}$/, { each: true, message: 'eventTypes must be event types such as login.failure' })
  eventTypes?: string[];

  @ApiPropertyOptional({ description: 'A Standard Webhooks secret (whsec_…) to sign with; absent: one is generated and returned once' })
  @OptionalNotNull()
  @IsString({ message: 'secret must be text' })
  secret?: string;
}

export class UpdateAuditStreamDto {
  @ApiPropertyOptional({ example: 'Splunk HEC relay' })
  @OptionalNotNull()
  @IsString({ message: 'name must be text' })
  @Length(1, 100, { message: 'name must be 1 to 100 characters' })
  name?: string;

  @ApiPropertyOptional({ example: 'https://siem.example.com/hooks/embed-idp', description: 'https; a public address in production' })
  @OptionalNotNull()
  @IsString({ message: 'url must be a URL' })
  @Length(1, 2048, { message: 'url must be at most 2048 characters' })
  url?: string;

  @ApiPropertyOptional({ type: [String], example: ['login.failure'], description: 'Event types sent; empty: all' })
  @OptionalNotNull()
  @IsArray({ message: 'eventTypes must be a list of event types' })
  @ArrayMaxSize(100, { message: 'eventTypes may list at most 100 types' })
  @Matches(/^[a-z0-9_.]{1,64}$/, { each: true, message: 'eventTypes must be event types such as login.failure' })
  eventTypes?: string[];

  @ApiPropertyOptional({ description: 'false: nothing new is queued for it, and what is queued waits' })
  @OptionalNotNull()
  @IsBoolean({ message: 'enabled must be true or false' })
  enabled?: boolean;
}

/** The longest a previous secret may keep signing: a week. */
export const MAX_GRACE_HOURS = 168;

export class RotateSecretDto {
  @ApiPropertyOptional({ minimum: 0, maximum: MAX_GRACE_HOURS, default: 24, description: 'Hours the previous secret keeps signing beside the new one (0: stops at once)' })
  @OptionalNotNull()
  @IsInt({ message: `graceHours must be a whole number of hours from 0 to ${MAX_GRACE_HOURS}` })
  @Min(0, { message: `graceHours must be a whole number of hours from 0 to ${MAX_GRACE_HOURS}` })
  @Max(MAX_GRACE_HOURS, { message: `graceHours must be a whole number of hours from 0 to ${MAX_GRACE_HOURS}` })
  graceHours?: number;

  @ApiPropertyOptional({ description: 'The new Standard Webhooks secret (whsec_…); absent: one is generated and returned once' })
  @OptionalNotNull()
  @IsString({ message: 'secret must be text' })
  secret?: string;
}

export class RotatedSecretDto {
  @ApiProperty({ description: 'The new signing secret (whsec_…): shown this once, sealed at rest' }) secret: string;
  @ApiProperty({ type: Date, nullable: true, description: 'Until when deliveries are signed with the previous secret too' }) previousSecretUntil: Date | null;
}

export class ReplayDto {
  @ApiProperty({ example: '2026-11-01T00:00:00Z', description: 'Events at or after this instant' })
  @IsInstant('from')
  from: string;

  @ApiProperty({ example: '2026-11-02T00:00:00Z', description: 'Events before this instant' })
  @IsInstant('to')
  to: string;
}

export class AuditStreamHealthDto {
  @ApiProperty() pending: number;
  @ApiProperty() failed: number;
  @ApiProperty() delivered: number;
  @ApiProperty({ type: Date, nullable: true, description: 'When the oldest event not yet delivered was written' }) oldestPendingAt: Date | null;
}

export class AuditStreamDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) tenantId: string | null;
  @ApiProperty() name: string;
  @ApiProperty() url: string;
  @ApiProperty({ type: [String] }) eventTypes: string[];
  @ApiProperty() enabled: boolean;
  @ApiProperty() createdAt: Date;
  @ApiProperty({ type: Date, nullable: true, description: 'During a secret rotation: until when the previous secret signs too' }) previousSecretUntil: Date | null;
  @ApiProperty({ type: Date, nullable: true }) lastSuccessAt: Date | null;
  @ApiProperty({ type: Date, nullable: true }) lastFailureAt: Date | null;
  @ApiProperty({ type: String, nullable: true }) lastError: string | null;
  @ApiProperty({ type: AuditStreamHealthDto }) health: AuditStreamHealthDto;
}

export class CreatedAuditStreamDto extends AuditStreamDto {
  @ApiProperty({ description: 'The signing secret (whsec_…): shown this once, sealed at rest' }) secret: string;
}

export class AuditStreamListDto {
  @ApiProperty({ type: [AuditStreamDto] }) items: AuditStreamDto[];
}

export class DeliveryDto {
  @ApiProperty() id: string;
  @ApiProperty({ description: 'The audit event id; the webhook-id is msg_<eventId>' }) eventId: string;
  @ApiProperty() eventAt: Date;
  @ApiProperty({ enum: ['pending', 'delivered', 'failed'] }) status: string;
  @ApiProperty() attempts: number;
  @ApiProperty({ type: String, nullable: true }) lastError: string | null;
  @ApiProperty() nextAttemptAt: Date;
}

export class AuditStreamDetailDto extends AuditStreamDto {
  @ApiProperty({ type: [DeliveryDto], description: 'The newest failed deliveries (50 at most)' }) failures: DeliveryDto[];
}

export class ReplayedDto {
  @ApiProperty({ description: 'Events queued again' }) queued: number;
}
