import { Controller, Get, Param, Post, Req, Res, UseFilters } from '@nestjs/common';
import type { Response } from 'express';
import { ReplayDto, RotateSecretDto, UpdateAuditStreamDto } from '../admin/dto/audit-stream.dto';
import { AuditService } from '../audit/audit.service';
import { AuthenticatedRequest } from '../auth/auth.decorators';
import { parseInstant } from '../common/dates';
import { notFound } from '../common/errors';
import { uuidOrNotFound } from '../common/identifiers';
import { Undocumented } from '../common/openapi';
import { LoadsSession } from '../common/route-protection';
import { AuditStreamsService, StreamRefused } from '../streams/audit-streams.service';
import { TenantsService } from '../tenants/tenants.service';
import { ConsoleCtx, ConsoleErrorFilter, ConsoleKit, pick, validateAs } from './console-kit';
import { ConsoleError } from './console.errors';
import { auditStreamsPage, StreamView } from './views/audit-streams';
import type { FormState } from './views/forms';

/**
 * Audit streams (webhooks): each destination's health and failures, and replaying a range.
 * A tenant admin sees only their tenant's streams. Streams are added with the admin API,
 * which shows the signing secret once.
 */
@Undocumented('HTML operator console, for browsers')
@Controller('console/audit-streams')
@LoadsSession()
@UseFilters(ConsoleErrorFilter)
export class ConsoleStreamsController {
  constructor(
    private readonly kit: ConsoleKit,
    private readonly streams: AuditStreamsService,
    private readonly tenants: TenantsService,
    private readonly audit: AuditService,
  ) {}

  @Get()
  async list(@Req() req: AuthenticatedRequest, @Res() res: Response): Promise<void> {
    const ctx = await this.kit.enter(req, res);
    await this.render(ctx, 200, new Map());
  }

  @Post(':id/replay')
  async replay(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('id') raw: string): Promise<void> {
    const ctx = await this.kit.enter(req, res, { post: true });
    const id = uuidOrNotFound(raw, ConsoleError.AuditStreamNotFound);
    const stream = await this.streams.find(id, ctx.principal.scope.tenantId);
    if (!stream) throw notFound(ConsoleError.AuditStreamNotFound);
    const values = pick(req.body, ['from', 'to']);
    const { value, errors } = await validateAs(ReplayDto, values);
    const problems: Record<string, string> = { ...(errors ?? {}) };
    // datetime-local carries no zone: read as UTC, as labelled.
    const from = problems.from ? undefined : parseInstant(value.from);
    const to = problems.to ? undefined : parseInstant(value.to);
    if (from && to && from > to) problems.to = 'To must not be earlier than From';
    if (Object.keys(problems).length || !from || !to) return this.render(ctx, 400, new Map([[id, { values, errors: problems }]]));
    const queued = await this.streams.replay(id, from, to);
    await this.audit.record(ctx.meta, { type: 'audit_stream.replayed', tenantId: stream.tenantId, details: { streamId: id, from, to, queued } });
    this.kit.redirect(ctx, '/console/audit-streams', 'stream-replayed');
  }

  @Post(':id/edit')
  async edit(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('id') raw: string): Promise<void> {
    const ctx = await this.kit.enter(req, res, { post: true });
    const stream = await this.mine(ctx, raw);
    const values = pick(req.body, ['name', 'url', 'eventTypes']);
    const eventTypes = String(values.eventTypes ?? '').split(',').map((t) => t.trim()).filter(Boolean);
    const { value, errors } = await validateAs(UpdateAuditStreamDto, { name: values.name, url: values.url, eventTypes });
    const key = `${stream.id}:edit`;
    if (errors) return this.render(ctx, 400, new Map([[key, { values, errors }]]));
    try {
      await this.streams.update(stream.id, value);
    } catch (err) {
      if (err instanceof StreamRefused) return this.render(ctx, 400, new Map([[key, { values, errors: { url: err.problems.join('; ').replace(/^url: /, '') } }]]));
      throw err;
    }
    await this.audit.record(ctx.meta, { type: 'audit_stream.updated', tenantId: stream.tenantId, details: { streamId: stream.id, name: value.name, url: value.url, eventTypes: value.eventTypes } });
    this.kit.redirect(ctx, '/console/audit-streams', 'stream-updated');
  }

  @Post(':id/enabled')
  async setEnabled(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('id') raw: string): Promise<void> {
    const ctx = await this.kit.enter(req, res, { post: true });
    const stream = await this.mine(ctx, raw);
    const enabled = pick(req.body, ['enabled']).enabled === 'true';
    await this.streams.update(stream.id, { enabled });
    await this.audit.record(ctx.meta, { type: 'audit_stream.updated', tenantId: stream.tenantId, details: { streamId: stream.id, enabled } });
    this.kit.redirect(ctx, '/console/audit-streams', enabled ? 'stream-enabled' : 'stream-disabled');
  }

  @Post(':id/rotate-secret')
  async rotateSecret(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('id') raw: string): Promise<void> {
    const ctx = await this.kit.enter(req, res, { post: true });
    const stream = await this.mine(ctx, raw);
    const values = pick(req.body, ['graceHours']);
    const hours = String(values.graceHours ?? '').trim();
    const { value, errors } = await validateAs(RotateSecretDto, { graceHours: /^\d+$/.test(hours) ? Number(hours) : hours });
    if (errors) return this.render(ctx, 400, new Map([[`${stream.id}:rotate`, { values, errors }]]));
    const rotated = await this.streams.rotateSecret(stream.id, (value.graceHours ?? 24) * 3600);
    await this.audit.record(ctx.meta, { type: 'audit_stream.secret_rotated', tenantId: stream.tenantId, details: { streamId: stream.id, previousSecretUntil: rotated.previousSecretUntil } });
    // Shown here, once (a redirect would have to carry the secret).
    await this.render(ctx, 200, new Map(), { id: stream.id, ...rotated });
  }

  private async mine(ctx: ConsoleCtx, raw: string) {
    const id = uuidOrNotFound(raw, ConsoleError.AuditStreamNotFound);
    const stream = await this.streams.find(id, ctx.principal.scope.tenantId);
    if (!stream) throw notFound(ConsoleError.AuditStreamNotFound);
    return stream;
  }

  private async render(ctx: ConsoleCtx, status: number, forms: Map<string, FormState>, rotated?: { id: string; secret: string; previousSecretUntil: Date | null }): Promise<void> {
    const streams = await this.streams.list(ctx.principal.scope.tenantId ?? undefined);
    const health = await this.streams.health(streams.map((s) => s.id));
    const views: StreamView[] = [];
    for (const s of streams) {
      views.push({
        stream: s,
        health: health.get(s.id)!,
        failures: await this.streams.recentDeliveries(s.id, 'failed', 5),
        tenantName: s.tenantId ? ((await this.tenants.findById(s.tenantId).catch(() => null))?.name ?? s.tenantId) : null,
      });
    }
    this.kit.render(ctx, status, 'Audit streams', 'audit', auditStreamsPage({ base: ctx.base, csrf: ctx.chrome.csrf, streams: views, forms, rotated }));
  }
}
