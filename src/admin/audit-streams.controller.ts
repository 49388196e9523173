import { Body, Controller, Delete, Get, HttpCode, Patch, Post, Req } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuditService } from '../audit/audit.service';
import { AuthenticatedRequest, Principal } from '../auth/auth.decorators';
import type { AdminPrincipal } from '../auth/auth.types';
import { parseInstant } from '../common/dates';
import { UuidParam } from '../common/dto';
import { badRequest, notFound } from '../common/errors';
import { ApiErrors } from '../common/openapi';
import { requestMeta } from '../common/request-meta';
import { TenantScoped } from '../common/route-protection';
import type { AuditStream } from '../streams/audit-stream.entity';
import { AuditStreamsService, StreamHealth, StreamRefused } from '../streams/audit-streams.service';
import { TenantsService } from '../tenants/tenants.service';
import { AdminError } from './admin.errors';
import {
  AuditStreamDetailDto,
  AuditStreamDto,
  AuditStreamListDto,
  CreateAuditStreamDto,
  CreatedAuditStreamDto,
  ReplayDto,
  ReplayedDto,
  RotatedSecretDto,
  RotateSecretDto,
  UpdateAuditStreamDto,
} from './dto/audit-stream.dto';
import { assertTenantInScope } from './scope';

/**
 * Audit streams: where audit events are sent as they happen (Standard Webhooks). A
 * tenant-scoped key manages only its tenant's streams, which receive only its tenant's events.
 */
@ApiTags('audit streams')
@TenantScoped()
@Controller('api/v1/audit-streams')
export class AuditStreamsController {
  constructor(
    private readonly streams: AuditStreamsService,
    private readonly tenants: TenantsService,
    private readonly audit: AuditService,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Add a destination; the answer carries its signing secret, shown once' })
  @ApiCreatedResponse({ type: CreatedAuditStreamDto })
  @ApiErrors({ 400: 'The URL is not https, or not a public address in production; or the secret is not whsec_…', 404: 'The tenantId names no tenant' })
  async create(@Principal() p: AdminPrincipal, @Req() req: AuthenticatedRequest, @Body() body: CreateAuditStreamDto): Promise<CreatedAuditStreamDto> {
    let tenantId: string | null = p.tenantId;
    if (body.tenantId !== undefined) {
      tenantId = await this.tenants.idOf(body.tenantId);
      assertTenantInScope(p, tenantId);
    }
    let created: Awaited<ReturnType<AuditStreamsService['create']>>;
    try {
      created = await this.streams.create({ tenantId, name: body.name, url: body.url, eventTypes: body.eventTypes ?? [], secret: body.secret });
    } catch (err) {
      if (err instanceof StreamRefused) throw badRequest(AdminError.InvalidAuditStream, err.problems.join('; '), { problems: err.problems });
      throw err;
    }
    await this.audit.record(requestMeta(req), { type: 'audit_stream.created', tenantId, details: { streamId: created.stream.id, url: body.url } });
    const health = await this.streams.health([created.stream.id]);
    return { ...toDto(created.stream, health.get(created.stream.id)!), secret: created.secret };
  }

  @Get()
  @ApiOperation({ summary: 'List destinations with their health' })
  @ApiOkResponse({ type: AuditStreamListDto })
  async list(@Principal() p: AdminPrincipal): Promise<AuditStreamListDto> {
    const items = await this.streams.list(p.tenantId ?? undefined);
    const health = await this.streams.health(items.map((s) => s.id));
    return { items: items.map((s) => toDto(s, health.get(s.id)!)) };
  }

  @Get(':id')
  @ApiOperation({ summary: 'One destination: health and its newest failed deliveries' })
  @ApiOkResponse({ type: AuditStreamDetailDto })
  @ApiErrors({ 404: 'No such stream (or another tenant\'s)' })
  async get(@Principal() p: AdminPrincipal, @UuidParam('id', AdminError.AuditStreamNotFound) id: string): Promise<AuditStreamDetailDto> {
    const s = await this.findOr404(p, id);
    const health = await this.streams.health([id]);
    const failures = await this.streams.recentDeliveries(id, 'failed');
    return {
      ...toDto(s, health.get(id)!),
      failures: failures.map((d) => ({ id: d.id, eventId: d.eventId, eventAt: d.eventAt, status: d.status, attempts: d.attempts, lastError: d.lastError, nextAttemptAt: d.nextAttemptAt })),
    };
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change a destination: name, URL, event types, enabled (what is given)' })
  @ApiOkResponse({ type: AuditStreamDto })
  @ApiErrors({ 400: 'The URL is not https, or not a public address in production', 404: "No such stream (or another tenant's)" })
  async update(@Principal() p: AdminPrincipal, @Req() req: AuthenticatedRequest, @UuidParam('id', AdminError.AuditStreamNotFound) id: string, @Body() body: UpdateAuditStreamDto): Promise<AuditStreamDto> {
    const before = await this.findOr404(p, id);
    let s: AuditStream;
    try {
      s = await this.streams.update(id, body);
    } catch (err) {
      if (err instanceof StreamRefused) throw badRequest(AdminError.InvalidAuditStream, err.problems.join('; '), { problems: err.problems });
      throw err;
    }
    const changed = (['name', 'url', 'eventTypes', 'enabled'] as const).filter((k) => body[k] !== undefined && JSON.stringify(body[k]) !== JSON.stringify(before[k]));
    await this.audit.record(requestMeta(req), {
      type: 'audit_stream.updated',
      tenantId: s.tenantId,
      details: { streamId: id, changed, ...Object.fromEntries(changed.map((k) => [k, s[k]])) },
    });
    const health = await this.streams.health([id]);
    return toDto(s, health.get(id)!);
  }

  @Post(':id/rotate-secret')
  @HttpCode(200)
  @ApiOperation({ summary: 'A new signing secret (shown once); the previous one keeps signing beside it for graceHours (default 24)' })
  @ApiOkResponse({ type: RotatedSecretDto })
  @ApiErrors({ 400: 'The secret is not whsec_…', 404: "No such stream (or another tenant's)" })
  async rotateSecret(@Principal() p: AdminPrincipal, @Req() req: AuthenticatedRequest, @UuidParam('id', AdminError.AuditStreamNotFound) id: string, @Body() body: RotateSecretDto): Promise<RotatedSecretDto> {
    const s = await this.findOr404(p, id);
    let rotated: RotatedSecretDto;
    try {
      rotated = await this.streams.rotateSecret(id, (body.graceHours ?? 24) * 3600, body.secret);
    } catch (err) {
      if (err instanceof StreamRefused) throw badRequest(AdminError.InvalidAuditStream, err.problems.join('; '), { problems: err.problems });
      throw err;
    }
    await this.audit.record(requestMeta(req), { type: 'audit_stream.secret_rotated', tenantId: s.tenantId, details: { streamId: id, previousSecretUntil: rotated.previousSecretUntil } });
    return rotated;
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Remove a destination (what was not yet delivered is dropped)' })
  @ApiNoContentResponse()
  @ApiErrors({ 404: 'No such stream (or another tenant\'s)' })
  async remove(@Principal() p: AdminPrincipal, @Req() req: AuthenticatedRequest, @UuidParam('id', AdminError.AuditStreamNotFound) id: string): Promise<void> {
    const s = await this.findOr404(p, id);
    await this.streams.remove(id);
    await this.audit.record(requestMeta(req), { type: 'audit_stream.deleted', tenantId: s.tenantId, details: { streamId: id, url: s.url } });
  }

  @Post(':id/replay')
  @HttpCode(200)
  @ApiOperation({ summary: 'Send again every event of [from, to) the stream selects (same webhook-id as the first time)' })
  @ApiOkResponse({ type: ReplayedDto })
  @ApiErrors({ 400: 'from is later than to', 404: 'No such stream (or another tenant\'s)' })
  async replay(@Principal() p: AdminPrincipal, @Req() req: AuthenticatedRequest, @UuidParam('id', AdminError.AuditStreamNotFound) id: string, @Body() body: ReplayDto): Promise<ReplayedDto> {
    const s = await this.findOr404(p, id);
    const from = parseInstant(body.from)!;
    const to = parseInstant(body.to)!;
    if (from > to) throw badRequest(AdminError.InvalidRange, 'From must not be later than To');
    const queued = await this.streams.replay(id, from, to);
    await this.audit.record(requestMeta(req), { type: 'audit_stream.replayed', tenantId: s.tenantId, details: { streamId: id, from, to, queued } });
    return { queued };
  }

  private async findOr404(p: AdminPrincipal, id: string): Promise<AuditStream> {
    const s = await this.streams.find(id, p.tenantId);
    if (!s) throw notFound(AdminError.AuditStreamNotFound);
    return s;
  }
}

function toDto(s: AuditStream, health: StreamHealth): AuditStreamDto {
  return {
    id: s.id,
    tenantId: s.tenantId,
    name: s.name,
    url: s.url,
    eventTypes: s.eventTypes,
    enabled: s.enabled,
    createdAt: s.createdAt,
    previousSecretUntil: s.previousSecretUntil && s.previousSecretUntil > new Date() ? s.previousSecretUntil : null,
    lastSuccessAt: s.lastSuccessAt,
    lastFailureAt: s.lastFailureAt,
    lastError: s.lastError,
    health,
  };
}
