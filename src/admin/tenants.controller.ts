import { Body, Controller, Delete, Get, HttpCode, Patch, Post, Query, Req } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { GlobalOnly, TenantScoped } from '../common/route-protection';
import { AuthenticatedRequest, Principal, ScopedTenantId } from '../auth/auth.decorators';
import type { AdminPrincipal } from '../auth/auth.types';
import { ApiErrors } from '../common/openapi';
import { requestMeta } from '../common/request-meta';
import { PageQueryDto } from '../common/dto';
import { CreateTenantDto, TenantDto, TenantPageDto, toTenantDto, UpdateTenantDto } from '../tenants/dto/tenant.dto';
import { TenantsService } from '../tenants/tenants.service';

@ApiTags('tenants')
@TenantScoped()
@Controller('api/v1/tenants')
export class TenantsController {
  constructor(private readonly tenants: TenantsService) {}

  @Post()
  @GlobalOnly()
  @ApiOperation({ summary: 'Create a tenant (global key only)' })
  @ApiCreatedResponse({ type: TenantDto })
  @ApiErrors({ 409: 'A tenant with this slug exists' })
  async create(@Req() req: AuthenticatedRequest, @Body() body: CreateTenantDto): Promise<TenantDto> {
    return toTenantDto(await this.tenants.create(requestMeta(req), body));
  }

  @Get()
  @ApiOperation({ summary: 'List tenants (a tenant-scoped key sees only its own)' })
  @ApiOkResponse({ type: TenantPageDto })
  async list(@Principal() principal: AdminPrincipal, @Query() page: PageQueryDto): Promise<TenantPageDto> {
    if (principal.tenantId !== null) {
      const own = await this.tenants.findById(principal.tenantId);
      return { items: page.offset === 0 ? [toTenantDto(own)] : [], total: 1, limit: page.limit, offset: page.offset };
    }
    const { items, total } = await this.tenants.list(page);
    return { items: items.map(toTenantDto), total, limit: page.limit, offset: page.offset };
  }

  @Get(':tenantId')
  @ApiParam({ name: 'tenantId', description: "The tenant's id or slug" })
  @ApiOperation({ summary: 'Get a tenant' })
  @ApiOkResponse({ type: TenantDto })
  async get(@ScopedTenantId() tenantId: string): Promise<TenantDto> {
    return toTenantDto(await this.tenants.findById(tenantId));
  }

  @Patch(':tenantId')
  @ApiParam({ name: 'tenantId', description: "The tenant's id or slug" })
  @ApiOperation({ summary: 'Update a tenant (disabling it ends all its sessions)' })
  @ApiOkResponse({ type: TenantDto })
  async update(
    @Req() req: AuthenticatedRequest,
    @ScopedTenantId() tenantId: string,
    @Body() body: UpdateTenantDto,
  ): Promise<TenantDto> {
    return toTenantDto(await this.tenants.update(requestMeta(req), tenantId, body));
  }

  @Delete(':tenantId')
  @TenantScoped({ operatorOnly: true })
  @ApiParam({ name: 'tenantId', description: "The tenant's id or slug" })
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a tenant with its users, groups, sessions, keys and grants (global key only)' })
  @ApiNoContentResponse()
  async remove(@Req() req: AuthenticatedRequest, @ScopedTenantId() tenantId: string): Promise<void> {
    await this.tenants.remove(requestMeta(req), tenantId);
  }
}
