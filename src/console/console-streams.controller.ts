import { Controller, Get, Param, Post, Req, Res, UseFilters } from '@nestjs/common';
import type { Response } from 'express';
import { ReplayDto } from '../admin/dto/audit-stream.dto';
import { AuditService } from '../audit/audit.service';
import { AuthenticatedRequest } from '../auth/auth.decorators';
import { parseInstant } from '../common/dates';
import { notFound } from '../common/errors';
import { uuidOrNotFound } from '../common/identifiers';
import { Undocumented } from '../common/openapi';
import { LoadsSession } from '../common/route-protection';
import { AuditStreamsService } from '../streams/audit-streams.service';
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
    if (from && to && from > to) problems.to = 'to must not be earlier than from';
    if (Object.keys(problems).length || !from || !to) return this.render(ctx, 400, new Map([[id, { values, errors: problems }]]));
    const queued = await this.streams.replay(id, from, to);
    await this.audit.record(ctx.meta, { type: 'audit_stream.replayed', tenantId: stream.tenantId, details: { streamId: id, from, to, queued } });
    this.kit.redirect(ctx, '/console/audit-streams', 'stream-replayed');
  }

  private async render(ctx: ConsoleCtx, status: number, forms: Map<string, FormState>): Promise<void> {
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
    this.kit.render(ctx, status, 'Audit streams', 'audit', auditStreamsPage({ base: ctx.base, csrf: ctx.chrome.csrf, streams: views, forms }));
  }
}
