import { Controller, Get, Req, Res, UseFilters } from '@nestjs/common';
import { Undocumented } from '../common/openapi';
import type { Response } from 'express';
import { AuditQueryDto } from '../admin/dto/audit-query.dto';
import { assertTenantInScope } from '../admin/scope';
import { AuditService } from '../audit/audit.service';
import { AuthenticatedRequest } from '../auth/auth.decorators';
import { parseInstant } from '../common/dates';
import { LoadsSession } from '../common/route-protection';
import { TenantsService } from '../tenants/tenants.service';
import { ConsoleErrorFilter, ConsoleKit, pick, validateAs } from './console-kit';
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
  ) {}

  @Get()
  async list(@Req() req: AuthenticatedRequest, @Res() res: Response): Promise<void> {
    const ctx = await this.kit.enter(req, res);
    const values = pick(req.query, ['type', 'tenantId', 'from', 'to', 'before']);
    const given = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== ''));
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
    const problems = { ...(errors ?? {}) };
    if (from && to && from > to) problems.to = 'to must not be earlier than from';
    const ok = !Object.keys(problems).length;
    const events = ok
      ? await this.audit.list({ tenantId: scope.tenantId ?? tenantId, type: value.type, from, to, limit: PAGE, before: value.before })
      : [];
    const tenants = scope.tenantId ? [] : (await this.tenants.list({ limit: 200, offset: 0 })).items;
    this.kit.render(ctx, ok ? 200 : 400, 'Audit log', 'audit', auditPage({
      base: ctx.base,
      operator: ctx.principal.operator,
      tenants,
      form: { values, errors: problems },
      events,
      nextBefore: events.length === PAGE ? String(events[events.length - 1].id) : null,
    }));
  }
}
