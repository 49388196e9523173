import { Body, Controller, Delete, Get, HttpCode, Patch, Post, Req } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiParam, ApiTags } from '@nestjs/swagger';
import { ScopedTenantId } from '../../auth/auth.decorators';
import { TenantScoped } from '../../common/route-protection';
import type { AuthenticatedRequest } from '../../auth/auth.decorators';
import { requestMeta } from '../../common/request-meta';
import { UuidParam } from '../../common/dto';
import { AddHandoffSecretDto, HandoffSecretDto, HandoffSettingsDto, UpdateHandoffSettingsDto } from './dto/handoff.dto';
import { HandoffConfigService } from './handoff-config.service';
import { HandoffError } from '../handoff.errors';

/**
 * A tenant's hand-off configuration. About one tenant, but operator-only (the global key): a
 * tenant-scoped key belongs to the customer, and a hand-off secret lets its holder sign in as
 * any of the tenant's users — and, with JIT on, create them.
 */
@ApiTags('handoff')
@ApiParam({ name: 'tenantId', description: "The tenant's id or slug" })
@TenantScoped({ operatorOnly: true })
@Controller('api/v1/tenants/:tenantId/handoff')
export class HandoffAdminController {
  constructor(private readonly config: HandoffConfigService) {}

  @Get()
  @ApiOkResponse({ type: HandoffSettingsDto })
  get(@ScopedTenantId() tenantId: string): Promise<HandoffSettingsDto> {
    return this.config.get(tenantId);
  }

  @Patch()
  @ApiOkResponse({ type: HandoffSettingsDto })
  update(
    @Req() req: AuthenticatedRequest,
    @ScopedTenantId() tenantId: string,
    @Body() body: UpdateHandoffSettingsDto,
  ): Promise<HandoffSettingsDto> {
    return this.config.update(requestMeta(req), tenantId, body);
  }

  @Post('secrets')
  @ApiCreatedResponse({ type: HandoffSecretDto })
  addSecret(
    @Req() req: AuthenticatedRequest,
    @ScopedTenantId() tenantId: string,
    @Body() body: AddHandoffSecretDto,
  ): Promise<HandoffSecretDto> {
    return this.config.addSecret(requestMeta(req), tenantId, body.secret);
  }

  @Delete('secrets/:secretId')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'The secret no longer verifies assertions' })
  async removeSecret(
    @Req() req: AuthenticatedRequest,
    @ScopedTenantId() tenantId: string,
    @UuidParam('secretId', HandoffError.HandoffSecretNotFound) secretId: string,
  ): Promise<void> {
    await this.config.removeSecret(requestMeta(req), tenantId, secretId);
  }
}
