import { Controller, Get, Param, Post, Req, Res, UseFilters } from '@nestjs/common';
import type { Response } from 'express';
import { AuthenticatedRequest } from '../auth/auth.decorators';
import { notFound } from '../common/errors';
import { uuidOrNotFound } from '../common/identifiers';
import { Undocumented } from '../common/openapi';
import { LoadsSession } from '../common/route-protection';
import { randomToken } from '../crypto/tokens';
import { UpdateHandoffSettingsDto } from '../inbound/hs256/dto/handoff.dto';
import { HandoffConfigService } from '../inbound/hs256/handoff-config.service';
import { HandoffError } from '../inbound/handoff.errors';
import { TenantsService } from '../tenants/tenants.service';
import { ConsoleCtx, ConsoleErrorFilter, ConsoleKit, formErrorFrom, refusalStatus, validateAs } from './console-kit';
import { handoffPage } from './views/handoff';
import { confirmPanel, type FormState } from './views/forms';

/**
 * A tenant's HS256 host hand-off: the same service and DTO as /api/v1/tenants/:id/handoff, and,
 * as there, operators only — a hand-off secret lets its holder sign in as any of the tenant's
 * users. The console makes the secret itself (32 random bytes, RFC 7518 §3.2's 256 bits) and
 * shows it on the creation answer only.
 */
@Undocumented('HTML operator console, for browsers')
@Controller('console/tenants/:tenantId/handoff')
@LoadsSession()
@UseFilters(ConsoleErrorFilter)
export class ConsoleHandoffController {
  constructor(
    private readonly kit: ConsoleKit,
    private readonly handoff: HandoffConfigService,
    private readonly tenants: TenantsService,
  ) {}

  @Get()
  async show(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string): Promise<void> {
    const ctx = await this.kit.enter(req, res);
    await this.render(ctx, 200, this.kit.scopedTenantId(ctx, raw, { operatorOnly: true }), { values: {}, errors: {} }, null);
  }

  @Post()
  async update(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string): Promise<void> {
    const ctx = await this.kit.enter(req, res, { post: true });
    const tenantId = this.kit.scopedTenantId(ctx, raw, { operatorOnly: true });
    const body = (req.body ?? {}) as Record<string, unknown>;
    // An unticked checkbox is absent from the form: absent means off here.
    const values = { jitProvisioning: body.jitProvisioning === 'true', syncGroups: body.syncGroups === 'true' };
    const { value, errors } = await validateAs(UpdateHandoffSettingsDto, values);
    if (errors) return this.render(ctx, 400, tenantId, { values, errors }, null);
    try {
      await this.handoff.update(ctx.meta, tenantId, value);
    } catch (e) {
      return this.render(ctx, refusalStatus(e), tenantId, formErrorFrom(e, values, ['jitProvisioning', 'syncGroups']), null);
    }
    this.kit.redirect(ctx, `/console/tenants/${tenantId}/handoff`, 'handoff-updated');
  }

  @Post('secrets')
  async addSecret(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string): Promise<void> {
    const ctx = await this.kit.enter(req, res, { post: true });
    const tenantId = this.kit.scopedTenantId(ctx, raw, { operatorOnly: true });
    const secret = randomToken(32);
    const { id } = await this.handoff.addSecret(ctx.meta, tenantId, secret);
    await this.render(ctx, 201, tenantId, { values: {}, errors: {} }, { id, secret });
  }

  @Post('secrets/:secretId/revoke')
  async revoke(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string, @Param('secretId') rawSecret: string): Promise<void> {
    const ctx = await this.kit.enter(req, res, { post: true });
    const tenantId = this.kit.scopedTenantId(ctx, raw, { operatorOnly: true });
    const secretId = uuidOrNotFound(rawSecret, HandoffError.HandoffSecretNotFound);
    const path = `/console/tenants/${tenantId}/handoff`;
    if ((req.body as Record<string, unknown> | undefined)?.confirm !== 'yes') {
      const config = await this.handoff.get(tenantId);
      if (!config.secrets.some((s) => s.id === secretId)) throw notFound(HandoffError.HandoffSecretNotFound);
      const last = config.secrets.length === 1;
      return this.kit.render(ctx, 200, 'Revoke this hand-off secret?', 'tenants', confirmPanel({
        action: `${ctx.base}${path}/secrets/${secretId}/revoke`, csrf: ctx.chrome.csrf, back: `${ctx.base}${path}`, label: 'Revoke secret',
        question: 'Revoke this hand-off secret?',
        consequence: last
          ? 'It is the only one: every hand-off for this tenant is refused until a new secret is created. This cannot be undone.'
          : 'Assertions signed with it are refused from the next one on. This cannot be undone.',
      }));
    }
    await this.handoff.removeSecret(ctx.meta, tenantId, secretId);
    this.kit.redirect(ctx, path, 'handoff-secret-revoked');
  }

  private async render(ctx: ConsoleCtx, status: number, tenantId: string, form: FormState, created: { id: string; secret: string } | null): Promise<void> {
    const [tenant, config] = await Promise.all([this.tenants.findById(tenantId), this.handoff.get(tenantId)]);
    ctx.res.set('Cache-Control', 'no-store');
    this.kit.render(ctx, status, `Host hand-off · ${tenant.name}`, 'tenants', handoffPage({ base: ctx.base, csrf: ctx.chrome.csrf, tenant, config, form, created }));
  }
}
