import { Body, Controller, Delete, Get, HttpCode, Patch, Post, Req } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiParam, ApiTags } from '@nestjs/swagger';
import { ScopedTenantId } from '../../auth/auth.decorators';
import type { AuthenticatedRequest } from '../../auth/auth.decorators';
import { UuidParam } from '../../common/dto';
import { requestMeta } from '../../common/request-meta';
import { TenantScoped } from '../../common/route-protection';
import { CreateTrustedIssuerDto, TrustedIssuerDto, UpdateTrustedIssuerDto } from './dto/trusted-issuer.dto';
import { TrustedIssuerError, TrustedIssuersService } from './trusted-issuers.service';
import type { TrustedIssuer } from './trusted-issuer.entity';

/**
 * A tenant's trusted issuers. Operator-only (the global key), like the hand-off secrets: an
 * issuer trusted here signs in as any of the tenant's users.
 */
@ApiTags('handoff')
@ApiParam({ name: 'tenantId', description: "The tenant's id or slug" })
@TenantScoped({ operatorOnly: true })
@Controller('api/v1/tenants/:tenantId/trusted-issuers')
export class TrustedIssuersController {
  constructor(private readonly issuers: TrustedIssuersService) {}

  @Get()
  @ApiOkResponse({ type: [TrustedIssuerDto] })
  async list(@ScopedTenantId() tenantId: string): Promise<TrustedIssuerDto[]> {
    return (await this.issuers.list(tenantId)).map(view);
  }

  @Post()
  @ApiCreatedResponse({ type: TrustedIssuerDto })
  async create(@Req() req: AuthenticatedRequest, @ScopedTenantId() tenantId: string, @Body() body: CreateTrustedIssuerDto): Promise<TrustedIssuerDto> {
    return view(await this.issuers.create(requestMeta(req), tenantId, body));
  }

  @Get(':issuerId')
  @ApiOkResponse({ type: TrustedIssuerDto })
  async get(@ScopedTenantId() tenantId: string, @UuidParam('issuerId', TrustedIssuerError.NotFound) id: string): Promise<TrustedIssuerDto> {
    return view(await this.issuers.get(tenantId, id));
  }

  @Patch(':issuerId')
  @ApiOkResponse({ type: TrustedIssuerDto })
  async update(
    @Req() req: AuthenticatedRequest,
    @ScopedTenantId() tenantId: string,
    @UuidParam('issuerId', TrustedIssuerError.NotFound) id: string,
    @Body() body: UpdateTrustedIssuerDto,
  ): Promise<TrustedIssuerDto> {
    return view(await this.issuers.update(requestMeta(req), tenantId, id, body));
  }

  @Delete(':issuerId')
  @HttpCode(204)
  @ApiNoContentResponse({ description: "The issuer's tokens no longer sign anyone in" })
  async remove(@Req() req: AuthenticatedRequest, @ScopedTenantId() tenantId: string, @UuidParam('issuerId', TrustedIssuerError.NotFound) id: string): Promise<void> {
    await this.issuers.remove(requestMeta(req), tenantId, id);
  }
}

function view(r: TrustedIssuer): TrustedIssuerDto {
  const { tenant: _tenant, tenantId: _tenantId, ...rest } = r;
  return rest;
}
