import { Controller, Delete, Get, HttpCode, Param, Put, Req, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { TenantScoped } from '../common/route-protection';
import { AuthenticatedRequest, ScopedTenantId } from '../auth/auth.decorators';
import { requestMeta } from '../common/request-meta';
import { IdentitiesService } from '../identities/identities.service';
import { EmailDomainDto, EmailDomainListDto } from './dto/identity.dto';
import { ApiErrors } from '../common/openapi';

/**
 * Email domains given to a tenant: users and shared accounts in them exist only there.
 * A tenant-scoped key may read its own; giving and taking domains is the operator's (global key).
 */
@ApiTags('email-domains')
@ApiParam({ name: 'tenantId', description: "The tenant's id or slug; a tenant-scoped key may only name its own tenant" })
@TenantScoped()
@Controller('api/v1/tenants/:tenantId/email-domains')
export class EmailDomainsController {
  constructor(private readonly identities: IdentitiesService) {}

  @Get()
  @ApiOperation({ summary: "The tenant's email domains" })
  @ApiOkResponse({ type: EmailDomainListDto })
  async list(@ScopedTenantId() tenantId: string): Promise<EmailDomainListDto> {
    return { items: await this.identities.listDomains(tenantId) };
  }

  @Put(':domain')
  @TenantScoped({ operatorOnly: true })
  @ApiOperation({ summary: 'Give the domain to the tenant (global key only; one tenant per domain)' })
  @ApiCreatedResponse({ type: EmailDomainDto, description: 'Given' })
  @ApiOkResponse({ type: EmailDomainDto, description: 'The tenant had it already' })
  @ApiErrors({ 409: 'Another tenant owns the domain, or has users, shared accounts or identities in it' })
  async assign(
    @Req() req: AuthenticatedRequest,
    @Res({ passthrough: true }) res: Response,
    @ScopedTenantId() tenantId: string,
    @Param('domain') domain: string,
  ): Promise<EmailDomainDto> {
    const { domain: view, created } = await this.identities.assignDomain(requestMeta(req), tenantId, domain);
    res.status(created ? 201 : 200);
    return view;
  }

  @Delete(':domain')
  @TenantScoped({ operatorOnly: true })
  @HttpCode(204)
  @ApiOperation({ summary: 'Take the domain back (global key only)' })
  @ApiNoContentResponse()
  async remove(@Req() req: AuthenticatedRequest, @ScopedTenantId() tenantId: string, @Param('domain') domain: string): Promise<void> {
    await this.identities.removeDomain(requestMeta(req), tenantId, domain);
  }
}
