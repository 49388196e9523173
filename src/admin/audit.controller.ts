import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { AuditEvent } from '../audit/audit-event.entity';
import { AuditService } from '../audit/audit.service';
import { TenantScoped } from '../common/route-protection';
import { Principal } from '../auth/auth.decorators';
import type { AdminPrincipal } from '../auth/auth.types';
import { parseInstant } from '../common/dates';
import { badRequest } from '../common/errors';
import { ApiErrors } from '../common/openapi';
import { TenantsService } from '../tenants/tenants.service';
import { AuditEventDto, AuditPageDto, AuditQueryDto } from './dto/audit-query.dto';
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
    const tenantId = q.tenantId === undefined ? undefined : await this.tenants.idOf(q.tenantId);
    if (tenantId !== undefined) assertTenantInScope(p, tenantId);
    // Validated by the DTO (IsInstant): the same parser reads them here.
    const from = q.from === undefined ? undefined : parseInstant(q.from)!;
    const to = q.to === undefined ? undefined : parseInstant(q.to)!;
    if (from && to && from > to) throw badRequest(AdminError.InvalidRange, 'from must not be later than to');
    const events = await this.audit.list({
      tenantId: p.tenantId ?? tenantId,
      type: q.type,
      from,
      to,
      limit: q.limit,
      before: q.before,
    });
    return {
      items: events.map(toDto),
      // A full page may have more behind it; a short page is the last.
      nextBefore: events.length === q.limit ? events[events.length - 1].id : null,
    };
  }
}

function toDto(e: AuditEvent): AuditEventDto {
  return {
    id: String(e.id),
    type: e.type,
    actor: e.actor,
    tenantId: e.tenantId,
    ip: e.ip,
    requestId: e.requestId,
    at: e.at,
    details: e.details,
  };
}
