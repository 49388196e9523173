import { Body, Controller, Delete, Get, HttpCode, Patch, Post, Req } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { requireGlobalKey } from '../admin/scope';
import { AdminApi, AuthenticatedRequest, Principal } from '../auth/auth.decorators';
import type { AdminPrincipal } from '../auth/auth.types';
import { requestMeta } from '../common/request-meta';
import { UuidParam } from '../tenants/dto/common.dto';
import { AddHandoffSecretDto, HandoffSecretDto, HandoffSettingsDto, UpdateHandoffSettingsDto } from './dto/handoff.dto';
import { HandoffConfigService } from './handoff-config.service';

/**
 * A tenant's hand-off configuration. Global key only: a tenant-scoped key belongs to the
 * customer, and a hand-off secret lets its holder sign in as any of the tenant's users.
 */
@ApiTags('handoff')
@AdminApi()
@Controller('api/v1/tenants/:tenantId/handoff')
export class HandoffAdminController {
  constructor(private readonly config: HandoffConfigService) {}

  @Get()
  @ApiOkResponse({ type: HandoffSettingsDto })
  get(@Principal() p: AdminPrincipal, @UuidParam('tenantId', 'tenant') tenantId: string): Promise<HandoffSettingsDto> {
    requireGlobalKey(p);
    return this.config.get(tenantId);
  }

  @Patch()
  @ApiOkResponse({ type: HandoffSettingsDto })
  update(
    @Principal() p: AdminPrincipal,
    @Req() req: AuthenticatedRequest,
    @UuidParam('tenantId', 'tenant') tenantId: string,
    @Body() body: UpdateHandoffSettingsDto,
  ): Promise<HandoffSettingsDto> {
    requireGlobalKey(p);
    return this.config.update(requestMeta(req), tenantId, body);
  }

  @Post('secrets')
  @ApiCreatedResponse({ type: HandoffSecretDto })
  addSecret(
    @Principal() p: AdminPrincipal,
    @Req() req: AuthenticatedRequest,
    @UuidParam('tenantId', 'tenant') tenantId: string,
    @Body() body: AddHandoffSecretDto,
  ): Promise<HandoffSecretDto> {
    requireGlobalKey(p);
    return this.config.addSecret(requestMeta(req), tenantId, body.secret);
  }

  @Delete('secrets/:secretId')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'The secret no longer verifies assertions' })
  async removeSecret(
    @Principal() p: AdminPrincipal,
    @Req() req: AuthenticatedRequest,
    @UuidParam('tenantId', 'tenant') tenantId: string,
    @UuidParam('secretId', 'handoff secret') secretId: string,
  ): Promise<void> {
    requireGlobalKey(p);
    await this.config.removeSecret(requestMeta(req), tenantId, secretId);
  }
}
