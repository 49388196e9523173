import { Controller, Get, Param, Post, Req, Res, UseFilters } from '@nestjs/common';
import type { Response } from 'express';
import { CreateApiKeyDto } from '../admin/dto/api-key.dto';
import { ApiKeysService } from '../auth/api-keys.service';
import { AuthenticatedRequest } from '../auth/auth.decorators';
import { notFound } from '../common/errors';
import { uuidOrNotFound } from '../common/identifiers';
import { Undocumented } from '../common/openapi';
import { LoadsSession } from '../common/route-protection';
import { TenantsService } from '../tenants/tenants.service';
import { ConsoleCtx, ConsoleErrorFilter, ConsoleKit, formErrorFrom, pick, refusalStatus, validateAs } from './console-kit';
import { ConsoleError } from './console.errors';
import { apiKeysPage } from './views/api-keys';
import { confirmPanel, type FormState } from './views/forms';

/**
 * A tenant's admin API keys: the same service and DTO as POST/GET/DELETE /api/v1/api-keys for a
 * key of that tenant. The key itself is on the creation answer only (a page, never a redirect
 * URL); lists show its prefix.
 */
@Undocumented('HTML operator console, for browsers')
@Controller('console/tenants/:tenantId/api-keys')
@LoadsSession()
@UseFilters(ConsoleErrorFilter)
export class ConsoleApiKeysController {
  constructor(
    private readonly kit: ConsoleKit,
    private readonly apiKeys: ApiKeysService,
    private readonly tenants: TenantsService,
  ) {}

  @Get()
  async show(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string): Promise<void> {
    const ctx = await this.kit.enter(req, res);
    await this.render(ctx, 200, this.kit.scopedTenantId(ctx, raw), { values: {}, errors: {} }, null);
  }

  @Post()
  async create(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string): Promise<void> {
    const ctx = await this.kit.enter(req, res, { post: true });
    const tenantId = this.kit.scopedTenantId(ctx, raw);
    const values = pick(req.body, ['name']);
    const { value, errors } = await validateAs(CreateApiKeyDto, values);
    if (errors) return this.render(ctx, 400, tenantId, { values, errors }, null);
    try {
      const { key, apiKey } = await this.apiKeys.create(ctx.meta, { name: value.name, tenantId });
      await this.render(ctx, 201, tenantId, { values: {}, errors: {} }, { name: apiKey.name, key });
    } catch (e) {
      await this.render(ctx, refusalStatus(e), tenantId, formErrorFrom(e, values, ['name']), null);
    }
  }

  @Post(':keyId/revoke')
  async revoke(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string, @Param('keyId') rawKey: string): Promise<void> {
    const ctx = await this.kit.enter(req, res, { post: true });
    const tenantId = this.kit.scopedTenantId(ctx, raw);
    const keyId = uuidOrNotFound(rawKey, ConsoleError.ApiKeyNotFound);
    const path = `/console/tenants/${tenantId}/api-keys`;
    if ((req.body as Record<string, unknown> | undefined)?.confirm !== 'yes') {
      const key = (await this.apiKeys.list(tenantId)).find((k) => k.id === keyId);
      if (!key) throw notFound(ConsoleError.ApiKeyNotFound);
      return this.kit.render(ctx, 200, `Revoke the API key ${key.name}?`, 'tenants', confirmPanel({
        action: `${ctx.base}${path}/${keyId}/revoke`, csrf: ctx.chrome.csrf, back: `${ctx.base}${path}`, label: 'Revoke API key',
        question: `Revoke the API key ${key.name}?`,
        consequence: 'Every request with it is refused from the next one on. Whatever uses it stops working until given a new key. This cannot be undone.',
      }));
    }
    // Scoped to the tenant, as a tenant's own key revoking: another tenant's key answers 404.
    await this.apiKeys.revoke(ctx.meta, keyId, tenantId);
    this.kit.redirect(ctx, path, 'apikey-revoked');
  }

  private async render(ctx: ConsoleCtx, status: number, tenantId: string, form: FormState, created: { name: string; key: string } | null): Promise<void> {
    const [tenant, keys] = await Promise.all([this.tenants.findById(tenantId), this.apiKeys.list(tenantId)]);
    this.kit.render(ctx, status, `API keys · ${tenant.name}`, 'tenants', apiKeysPage({ base: ctx.base, csrf: ctx.chrome.csrf, tenant, form, keys, created }));
  }
}

/**
 * The operators' global API keys (tenantId null): the same service and DTO as the admin API's
 * global-key routes. Operators only — a global key manages every tenant.
 */
@Undocumented('HTML operator console, for browsers')
@Controller('console/api-keys')
@LoadsSession()
@UseFilters(ConsoleErrorFilter)
export class ConsoleGlobalApiKeysController {
  constructor(
    private readonly kit: ConsoleKit,
    private readonly apiKeys: ApiKeysService,
  ) {}

  @Get()
  async show(@Req() req: AuthenticatedRequest, @Res() res: Response): Promise<void> {
    const ctx = await this.kit.enter(req, res);
    this.kit.requireOperator(ctx);
    await this.render(ctx, 200, { values: {}, errors: {} }, null);
  }

  @Post()
  async create(@Req() req: AuthenticatedRequest, @Res() res: Response): Promise<void> {
    const ctx = await this.kit.enter(req, res, { post: true });
    this.kit.requireOperator(ctx);
    const values = pick(req.body, ['name']);
    const { value, errors } = await validateAs(CreateApiKeyDto, values);
    if (errors) return this.render(ctx, 400, { values, errors }, null);
    try {
      const { key, apiKey } = await this.apiKeys.create(ctx.meta, { name: value.name, tenantId: null });
      await this.render(ctx, 201, { values: {}, errors: {} }, { name: apiKey.name, key });
    } catch (e) {
      await this.render(ctx, refusalStatus(e), formErrorFrom(e, values, ['name']), null);
    }
  }

  @Post(':keyId/revoke')
  async revoke(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('keyId') rawKey: string): Promise<void> {
    const ctx = await this.kit.enter(req, res, { post: true });
    this.kit.requireOperator(ctx);
    const keyId = uuidOrNotFound(rawKey, ConsoleError.ApiKeyNotFound);
    const path = '/console/api-keys';
    // Global keys only: a tenant's key is revoked from its tenant's page.
    const key = (await this.apiKeys.list(null)).find((k) => k.id === keyId);
    if (!key) throw notFound(ConsoleError.ApiKeyNotFound);
    if ((req.body as Record<string, unknown> | undefined)?.confirm !== 'yes') {
      return this.kit.render(ctx, 200, `Revoke the global API key ${key.name}?`, 'apikeys', confirmPanel({
        action: `${ctx.base}${path}/${keyId}/revoke`, csrf: ctx.chrome.csrf, back: `${ctx.base}${path}`, label: 'Revoke API key',
        question: `Revoke the global API key ${key.name}?`,
        consequence: 'Every request with it is refused from the next one on: whatever manages tenants or targets with it stops working until given a new key. This cannot be undone.',
      }));
    }
    await this.apiKeys.revoke(ctx.meta, keyId, null);
    this.kit.redirect(ctx, path, 'apikey-revoked');
  }

  private async render(ctx: ConsoleCtx, status: number, form: FormState, created: { name: string; key: string } | null): Promise<void> {
    const keys = await this.apiKeys.list(null);
    this.kit.render(ctx, status, 'Global API keys', 'apikeys', apiKeysPage({ base: ctx.base, csrf: ctx.chrome.csrf, tenant: null, form, keys, created }));
  }
}
