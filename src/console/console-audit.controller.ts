import { Controller, Get, Req, Res, UseFilters } from '@nestjs/common';
import { Undocumented } from '../common/openapi';
import type { Response } from 'express';
import { AuditQueryDto } from '../admin/dto/audit-query.dto';
import { assertTenantInScope } from '../admin/scope';
import type { AuditEvent } from '../audit/audit-event.entity';
import { AuditService } from '../audit/audit.service';
import { writeAuditExport } from '../admin/audit-export';
import { AuthenticatedRequest } from '../auth/auth.decorators';
import { parseInstant } from '../common/dates';
import { LoadsSession } from '../common/route-protection';
import { TenantsService } from '../tenants/tenants.service';
import { ApiKeysService } from '../auth/api-keys.service';
import { UsersService } from '../users/users.service';
import { TargetsService } from '../catalog/targets.service';
import { targetDefinition } from '../products';
import { actorIds, AuditNames } from './audit-summary';
import { ConsoleCtx, ConsoleErrorFilter, ConsoleKit, pick, validateAs } from './console-kit';
import { auditPage } from './views/audit';

const PAGE = 50;

/**
 * The audit trail with filters (type, tenant, time) and keyset paging, under the admin API's
 * rules: the same query DTO, and a tenant admin reads only their own tenant's events.
 */
@Undocumented('HTML operator console, for browsers')
@Controller('console/audit')
@LoadsSession()
@UseFilters(ConsoleErrorFilter)
export class ConsoleAuditController {
  constructor(
    private readonly kit: ConsoleKit,
    private readonly audit: AuditService,
    private readonly tenants: TenantsService,
    private readonly users: UsersService,
    private readonly apiKeys: ApiKeysService,
    private readonly targets: TargetsService,
  ) {}

  @Get()
  async list(@Req() req: AuthenticatedRequest, @Res() res: Response): Promise<void> {
    const ctx = await this.kit.enter(req, res);
    const q = await this.query(ctx, req);
    const events = q.ok ? await this.audit.list({ ...q.filters, limit: PAGE, before: q.before }) : [];
    await this.render(ctx, q, events);
  }

  /** The events the filters select, every one, as a download (the admin API's export, streamed). */
  @Get('export')
  async export(@Req() req: AuthenticatedRequest, @Res() res: Response): Promise<void> {
    const ctx = await this.kit.enter(req, res);
    const q = await this.query(ctx, req);
    if (!q.ok) return this.render(ctx, q, []);
    await writeAuditExport(res, this.audit.each(q.filters), req.query.format === 'csv' ? 'csv' : 'ndjson');
  }

  private async render(ctx: ConsoleCtx, q: Awaited<ReturnType<ConsoleAuditController['query']>>, events: AuditEvent[]): Promise<void> {
    const scope = ctx.principal.scope;
    const tenants = scope.tenantId ? [] : (await this.tenants.list({ limit: 200, offset: 0 })).items;
    const names = await this.names(events);
    this.kit.render(ctx, q.ok ? 200 : 400, 'Audit log', 'audit', auditPage({
      base: ctx.base,
      operator: ctx.principal.operator,
      tenants,
      form: { values: q.values, errors: q.problems },
      events,
      names,
      nextBefore: events.length === PAGE ? String(events[events.length - 1].id) : null,
    }));
  }

  /** Names for the page's actors and targets: one query per kind for the whole page, never one per row. */
  private async names(events: AuditEvent[]): Promise<AuditNames> {
    const ids = actorIds(events.map((e) => e.actor));
    const [users, apiKeys, targets] = await Promise.all([
      this.users.emailsOf(ids.users),
      this.apiKeys.namesOf(ids.apiKeys),
      events.some((e) => typeof e.details?.target === 'string') ? this.targets.list() : Promise.resolve([]),
    ]);
    return { users, apiKeys, targets: new Map(targets.map((t) => [t.slug, `${targetDefinition(t.kind)?.label ?? t.kind} target ${t.slug}`])) };
  }

  /** The form's filters, validated as the API's query, a tenant admin held to their own tenant. */
  private async query(ctx: ConsoleCtx, req: AuthenticatedRequest) {
    const values = pick(req.query, ['type', 'reason', 'tenantId', 'from', 'to', 'before']);
    const given = Object.fromEntries(Object.entries(values).filter(([k, v]) => v !== '' && k !== 'reason'));
    const { value, errors } = await validateAs(AuditQueryDto, { ...given, limit: String(PAGE) });
    const scope = ctx.principal.scope;
    // By id or slug, as the API's ?tenantId; another tenant's is the same 404 as none.
    const tenantId = value.tenantId && !errors?.tenantId ? await this.tenants.idOf(value.tenantId) : undefined;
    if (tenantId) assertTenantInScope(scope, tenantId);
    // Validated by the DTO with the API's parser; the form's datetime-local fields carry no
    // zone, which that parser reads as UTC, as labelled.
    const instant = (d: string | undefined) => (d === undefined ? undefined : (parseInstant(d) ?? undefined));
    const from = errors?.from ? undefined : instant(value.from);
    const to = errors?.to ? undefined : instant(value.to);
    const problems: Record<string, string> = { ...(errors ?? {}) };
    if (from && to && from > to) problems.to = 'To must not be earlier than From';
    // A refusal's reason code (the overview's links): the console's filter only, not the API's.
    const reason = typeof values.reason === 'string' && values.reason ? values.reason : undefined;
    if (reason !== undefined && !/^[a-z0-9_]{1,64}$/.test(reason)) problems.reason = 'reason must be a refusal code such as no_access';
    return {
      ok: !Object.keys(problems).length,
      values,
      problems,
      before: value.before,
      filters: { tenantId: scope.tenantId ?? tenantId, type: value.type, reason: problems.reason ? undefined : reason, from, to },
    };
  }
}
