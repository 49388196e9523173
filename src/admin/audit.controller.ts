import { Controller, Get, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { ApiOkResponse, ApiProduces, ApiTags } from '@nestjs/swagger';
import { AuditService } from '../audit/audit.service';
import { TenantScoped } from '../common/route-protection';
import { Principal } from '../auth/auth.decorators';
import type { AdminPrincipal } from '../auth/auth.types';
import { parseInstant } from '../common/dates';
import { badRequest } from '../common/errors';
import { ApiErrors, Responds } from '../common/openapi';
import { TenantsService } from '../tenants/tenants.service';
import { AuditExportQueryDto, AuditPageDto, AuditQueryDto } from './dto/audit-query.dto';
import { auditEventJson, writeAuditExport } from './audit-export';
import { assertTenantInScope } from './scope';
import { AdminError } from './admin.errors';

/** The audit trail, newest first. A tenant-scoped key reads only its own tenant's events. */
@ApiTags('audit')
@TenantScoped()
@Controller('api/v1/audit-events')
export class AuditController {
  constructor(
    private readonly audit: AuditService,
    private readonly tenants: TenantsService,
  ) {}

  @Get()
  @ApiOkResponse({ type: AuditPageDto })
  @ApiErrors({ 404: "The tenantId names no tenant (another tenant's answers the same)" })
  async list(@Principal() p: AdminPrincipal, @Query() q: AuditQueryDto): Promise<AuditPageDto> {
    const events = await this.audit.list({ ...(await this.filters(p, q)), limit: q.limit, before: q.before });
    return {
      items: events.map(auditEventJson),
      // A full page may have more behind it; a short page is the last.
      nextBefore: events.length === q.limit ? events[events.length - 1].id : null,
    };
  }

  /** Every event the filters select, streamed as it is read (a page of 1,000 at a time, keyset pagination). */
  @Get('export')
  @ApiProduces('application/x-ndjson', 'text/csv')
  @Responds({ 200: "ndjson: one event per line (as the list's items); csv: a header row, then one event per row" })
  @ApiErrors({ 404: "The tenantId names no tenant (another tenant's answers the same)" })
  async export(@Principal() p: AdminPrincipal, @Query() q: AuditExportQueryDto, @Res() res: Response): Promise<void> {
    await writeAuditExport(res, this.audit.each(await this.filters(p, q)), q.format);
  }

  /** The filters both endpoints share, the tenant forced to a scoped key's own. */
  private async filters(p: AdminPrincipal, q: Pick<AuditQueryDto, 'tenantId' | 'type' | 'from' | 'to'>) {
    const tenantId = q.tenantId === undefined ? undefined : await this.tenants.idOf(q.tenantId);
    if (tenantId !== undefined) assertTenantInScope(p, tenantId);
    // Validated by the DTO (IsInstant): the same parser reads them here.
    const from = q.from === undefined ? undefined : parseInstant(q.from)!;
    const to = q.to === undefined ? undefined : parseInstant(q.to)!;
    if (from && to && from > to) throw badRequest(AdminError.InvalidRange, 'From must not be later than To');
    return { tenantId: p.tenantId ?? tenantId, type: q.type, from, to };
  }
}

