import { Body, Controller, Delete, Get, HttpCode, Put, Req, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { TenantScoped } from '../common/route-protection';
import { AuthenticatedRequest, ScopedTenantId } from '../auth/auth.decorators';
import { requestMeta } from '../common/request-meta';
import { AccessService } from '../catalog/access.service';
import { AccessDto, AccessListDto, PutAccessDto } from './dto/access.dto';
import { TargetRef } from './scope';
import { ApiErrors } from '../common/openapi';

/**
 * Which targets a tenant may use. A tenant-scoped key may read its own tenant's grants;
 * granting and revoking (which decide what a tenant sees in the BI tools) need a global key.
 */
@ApiTags('access')
@ApiParam({ name: 'tenantId', description: "The tenant's id or slug; a tenant-scoped key may only name its own tenant" })
@TenantScoped()
@Controller('api/v1/tenants/:tenantId/access')
export class AccessController {
  constructor(private readonly access: AccessService) {}

  @Get()
  @ApiOkResponse({ type: AccessListDto })
  async list(@ScopedTenantId() tenantId: string): Promise<AccessListDto> {
    return { items: await this.access.list(tenantId) };
  }

  /** Grants (201) or replaces (200) the tenant's access to the target. */
  @Put(':targetId')
  @TenantScoped({ operatorOnly: true })
  @ApiParam({ name: 'targetId', description: "The target's id or slug" })
  @ApiCreatedResponse({ type: AccessDto, description: 'Granted' })
  @ApiOkResponse({ type: AccessDto, description: 'Replaced' })
  @ApiErrors({ 409: "The shared account's email is another tenant's identity on this BI instance" })
  async grant(
    @Req() req: AuthenticatedRequest,
    @Res({ passthrough: true }) res: Response,
    @ScopedTenantId() tenantId: string,
    @TargetRef('targetId') targetId: string,
    @Body() body: PutAccessDto,
  ): Promise<AccessDto> {
    const { access, created } = await this.access.grant(requestMeta(req), tenantId, targetId, { ...body });
    res.status(created ? 201 : 200);
    return access;
  }

  @Delete(':targetId')
  @TenantScoped({ operatorOnly: true })
  @ApiParam({ name: 'targetId', description: "The target's id or slug" })
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Revoked' })
  async revoke(
    @Req() req: AuthenticatedRequest,
    @ScopedTenantId() tenantId: string,
    @TargetRef('targetId') targetId: string,
  ): Promise<void> {
    await this.access.revoke(requestMeta(req), tenantId, targetId);
  }
}
