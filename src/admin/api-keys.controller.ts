import { Body, Controller, Delete, Get, HttpCode, Post, Query, Req } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { TenantScoped } from '../common/route-protection';
import { AuthenticatedRequest, Principal } from '../auth/auth.decorators';
import type { AdminPrincipal } from '../auth/auth.types';
import type { ApiKey } from '../auth/api-key.entity';
import { ApiKeysService } from '../auth/api-keys.service';
import { forbidden } from '../common/errors';
import { ApiErrors } from '../common/openapi';
import { requestMeta } from '../common/request-meta';
import { UuidParam } from '../common/dto';
import { TenantsService } from '../tenants/tenants.service';
import { ApiKeyDto, ApiKeyListDto, CreateApiKeyDto, CreatedApiKeyDto, ListApiKeysQueryDto } from './dto/api-key.dto';
import { assertTenantInScope } from './scope';
import { AdminError } from './admin.errors';

/**
 * Admin API keys. The plaintext key is in the creation response only; lists never carry it
 * (nor its hash). A tenant-scoped key manages only its own tenant's keys.
 */
@ApiTags('api-keys')
@TenantScoped()
@Controller('api/v1/api-keys')
export class ApiKeysController {
  constructor(
    private readonly apiKeys: ApiKeysService,
    private readonly tenants: TenantsService,
  ) {}

  @Post()
  @ApiCreatedResponse({ type: CreatedApiKeyDto })
  @ApiErrors({ 403: 'A tenant-scoped key asked for a global key (global_key_required)', 404: "The tenant does not exist (another tenant's answers the same)" })
  async create(@Principal() p: AdminPrincipal, @Req() req: AuthenticatedRequest, @Body() body: CreateApiKeyDto): Promise<CreatedApiKeyDto> {
    const tenantId = body.tenantId == null ? null : await this.tenants.idOf(body.tenantId);
    // A scoped key creates keys of its own tenant only: never a global key, never another tenant's.
    if (tenantId === null && p.tenantId !== null) {
      throw forbidden(AdminError.GlobalKeyRequired, 'Only a global key can create a global key: name your own tenant in the request (its tenant id or slug)', `key ${p.keyId} is tenant-scoped`);
    }
    if (tenantId !== null) assertTenantInScope(p, tenantId);
    const { key, apiKey } = await this.apiKeys.create(requestMeta(req), { name: body.name, tenantId });
    return { id: apiKey.id, name: apiKey.name, prefix: apiKey.prefix, tenantId: apiKey.tenantId, createdAt: apiKey.createdAt, key };
  }

  @Get()
  @ApiOkResponse({ type: ApiKeyListDto })
  async list(@Principal() p: AdminPrincipal, @Query() q: ListApiKeysQueryDto): Promise<ApiKeyListDto> {
    // A global key sees every key; a tenant-scoped key only its tenant's.
    const keys = await this.apiKeys.list(p.tenantId ?? undefined, { includeRevoked: q.includeRevoked ?? false });
    return { items: keys.map(toDto) };
  }

  /** Revoked keys are refused from the next request on (authentication reads revoked_at every time). */
  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Revoked' })
  async revoke(@Principal() p: AdminPrincipal, @Req() req: AuthenticatedRequest, @UuidParam('id', AdminError.ApiKeyNotFound) id: string): Promise<void> {
    await this.apiKeys.revoke(requestMeta(req), id, p.tenantId);
  }
}

/** Built field by field: the hash never leaves the service, whatever the entity holds. */
function toDto(k: ApiKey): ApiKeyDto {
  return {
    id: k.id,
    name: k.name,
    prefix: k.prefix,
    tenantId: k.tenantId,
    createdAt: k.createdAt,
    lastUsedAt: k.lastUsedAt ?? null,
    revokedAt: k.revokedAt ?? null,
  };
}
