import { Controller, Get, Param, Post, Req, Res, UseFilters } from '@nestjs/common';
import type { Response } from 'express';
import { AuthenticatedRequest } from '../auth/auth.decorators';
import { DomainError } from '../common/errors';
import { uuidOrNotFound } from '../common/identifiers';
import { Undocumented } from '../common/openapi';
import { LoadsSession } from '../common/route-protection';
import { PutUpstreamProviderDto } from '../inbound/oidc-upstream/upstream-admin.controller';
import { UpstreamProvidersService } from '../inbound/oidc-upstream/upstream-providers.service';
import { CreateTrustedIssuerDto, TRUSTED_ISSUER_DEFAULTS, UpdateTrustedIssuerDto } from '../inbound/trusted-issuer/dto/trusted-issuer.dto';
import type { TrustedIssuer } from '../inbound/trusted-issuer/trusted-issuer.entity';
import { TrustedIssuerError, TrustedIssuersService } from '../inbound/trusted-issuer/trusted-issuers.service';
import { TenantsService } from '../tenants/tenants.service';
import { ConsoleCtx, ConsoleErrorFilter, ConsoleKit, formErrorFrom, pick, refusalStatus, validateAs } from './console-kit';
import { confirmPanel, emptyForm, type FormState } from './views/forms';
import { issuerEditPage, signInPage } from './views/sign-in';

/** A checkbox sends "true" when ticked and nothing otherwise; the DTOs want a boolean. */
const bool = (v: unknown): boolean => v === 'true';

/** The trusted issuer's optional text fields: the claim mapping and the age limit (blank: the API's default). */
const ISSUER_TEXT_FIELDS = ['claimEmail', 'claimFirstName', 'claimLastName', 'claimGroups', 'maxTokenAgeSeconds'];

/**
 * The form's values as the API's body: a blank optional field is left out (the default, as an
 * API call without it), the age a number when it is one (else as typed, for the DTO's message).
 */
function issuerInput(values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...values };
  for (const f of ISSUER_TEXT_FIELDS) {
    const v = typeof out[f] === 'string' ? (out[f] as string).trim() : out[f];
    if (v === '' || v === undefined) delete out[f];
    else out[f] = v;
  }
  if (typeof out.maxTokenAgeSeconds === 'string' && /^\d{1,9}$/.test(out.maxTokenAgeSeconds)) out.maxTokenAgeSeconds = Number(out.maxTokenAgeSeconds);
  return out;
}

/**
 * A tenant's sign-in sources: its trusted issuers (POST/DELETE /api/v1/tenants/:t/trusted-issuers)
 * and its company OpenID Connect provider (PUT/DELETE /api/v1/tenants/:t/oidc-provider), through
 * the same services and DTOs. Operators only, as in the API: either can sign in as anyone of
 * the tenant. The client secret is write-only: a blank field keeps the stored one.
 */
@Undocumented('HTML operator console, for browsers')
@Controller('console/tenants/:tenantId/sign-in')
@LoadsSession()
@UseFilters(ConsoleErrorFilter)
export class ConsoleSignInController {
  constructor(
    private readonly kit: ConsoleKit,
    private readonly issuers: TrustedIssuersService,
    private readonly providers: UpstreamProvidersService,
    private readonly tenants: TenantsService,
  ) {}

  @Get()
  async show(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string): Promise<void> {
    const ctx = await this.kit.enter(req, res);
    await this.render(ctx, 200, this.kit.scopedTenantId(ctx, raw, { operatorOnly: true }), {});
  }

  @Post('issuers')
  async addIssuer(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string): Promise<void> {
    const ctx = await this.kit.enter(req, res, { post: true });
    const tenantId = this.kit.scopedTenantId(ctx, raw, { operatorOnly: true });
    const typed = pick(req.body, ['issuer', 'audience', 'jitProvisioning', 'syncGroups', ...ISSUER_TEXT_FIELDS], ['algorithms']);
    const values = { ...typed, jitProvisioning: bool(typed.jitProvisioning), syncGroups: bool(typed.syncGroups) };
    const { value, errors } = await validateAs(CreateTrustedIssuerDto, issuerInput(values));
    if (errors) return this.render(ctx, 400, tenantId, { issuer: { values, errors } });
    try {
      await this.issuers.create(ctx.meta, tenantId, value);
    } catch (e) {
      return this.render(ctx, refusalStatus(e), tenantId, { issuer: formErrorFrom(e, values, ['issuer', 'audience', 'algorithms', ...ISSUER_TEXT_FIELDS]) });
    }
    this.kit.redirect(ctx, `/console/tenants/${tenantId}/sign-in`, 'issuer-added');
  }

  @Get('issuers/:issuerId')
  async showIssuer(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string, @Param('issuerId') rawId: string): Promise<void> {
    const ctx = await this.kit.enter(req, res);
    const tenantId = this.kit.scopedTenantId(ctx, raw, { operatorOnly: true });
    const issuer = await this.issuers.get(tenantId, uuidOrNotFound(rawId, TrustedIssuerError.NotFound));
    await this.renderIssuer(ctx, 200, tenantId, issuer, emptyForm({
      issuer: issuer.issuer, audience: issuer.audience, algorithms: issuer.algorithms, claimEmail: issuer.claimEmail, claimFirstName: issuer.claimFirstName,
      claimLastName: issuer.claimLastName, claimGroups: issuer.claimGroups ?? '', maxTokenAgeSeconds: String(issuer.maxTokenAgeSeconds),
      jitProvisioning: issuer.jitProvisioning, syncGroups: issuer.syncGroups,
    }));
  }

  @Post('issuers/:issuerId')
  async saveIssuer(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string, @Param('issuerId') rawId: string): Promise<void> {
    const ctx = await this.kit.enter(req, res, { post: true });
    const tenantId = this.kit.scopedTenantId(ctx, raw, { operatorOnly: true });
    const issuer = await this.issuers.get(tenantId, uuidOrNotFound(rawId, TrustedIssuerError.NotFound));
    const typed = pick(req.body, ['issuer', 'audience', 'jitProvisioning', 'syncGroups', ...ISSUER_TEXT_FIELDS], ['algorithms']);
    const values = { ...typed, jitProvisioning: bool(typed.jitProvisioning), syncGroups: bool(typed.syncGroups) };
    // The form shows every field: one left blank is the default again (the groups claim: not read).
    const { value, errors } = await validateAs(UpdateTrustedIssuerDto, { ...TRUSTED_ISSUER_DEFAULTS, ...issuerInput(values) });
    if (errors) return this.renderIssuer(ctx, 400, tenantId, issuer, { values, errors });
    try {
      await this.issuers.update(ctx.meta, tenantId, issuer.id, value);
    } catch (e) {
      return this.renderIssuer(ctx, refusalStatus(e), tenantId, issuer, formErrorFrom(e, values, ['issuer', 'audience', 'algorithms', ...ISSUER_TEXT_FIELDS]));
    }
    this.kit.redirect(ctx, `/console/tenants/${tenantId}/sign-in`, 'issuer-saved');
  }

  @Post('issuers/:issuerId/delete')
  async deleteIssuer(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string, @Param('issuerId') rawId: string): Promise<void> {
    const ctx = await this.kit.enter(req, res, { post: true });
    const tenantId = this.kit.scopedTenantId(ctx, raw, { operatorOnly: true });
    const id = uuidOrNotFound(rawId, TrustedIssuerError.NotFound);
    const path = `/console/tenants/${tenantId}/sign-in`;
    if ((req.body as Record<string, unknown> | undefined)?.confirm !== 'yes') {
      const row = await this.issuers.get(tenantId, id);
      const question = `Delete the trusted issuer ${row.issuer} (audience ${row.audience})?`;
      return this.kit.render(ctx, 200, question, 'tenants', confirmPanel({
        action: `${ctx.base}${path}/issuers/${id}/delete`, csrf: ctx.chrome.csrf, back: `${ctx.base}${path}`, label: 'Delete trusted issuer', question,
        consequence: "Its tokens no longer sign anyone in from the next one on; whatever hands people off with them stops working until it is added again.",
      }));
    }
    await this.issuers.remove(ctx.meta, tenantId, id);
    this.kit.redirect(ctx, path, 'issuer-deleted');
  }

  @Post('provider')
  async putProvider(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string): Promise<void> {
    const ctx = await this.kit.enter(req, res, { post: true });
    const tenantId = this.kit.scopedTenantId(ctx, raw, { operatorOnly: true });
    const typed = pick(req.body, ['issuer', 'clientId', 'clientSecret', 'claimGroups', 'jitProvisioning', 'syncGroups']);
    const shown = { issuer: typed.issuer, clientId: typed.clientId, claimGroups: typed.claimGroups, jitProvisioning: typed.jitProvisioning, syncGroups: typed.syncGroups };
    // The PUT replaces the provider: every field it keeps is on the form (a blank groups claim: not read).
    const claimGroups = typeof typed.claimGroups === 'string' && typed.claimGroups.trim() ? typed.claimGroups.trim() : null;
    const values: Record<string, unknown> = { ...typed, claimGroups, jitProvisioning: bool(typed.jitProvisioning), syncGroups: bool(typed.syncGroups) };
    // Write-only secret: left blank, the stored one is kept (resealed by the same PUT).
    if (!values.clientSecret) {
      const current = await this.providers.find(tenantId);
      if (current) values.clientSecret = this.providers.clientSecret(current);
      else delete values.clientSecret;
    }
    const { value, errors } = await validateAs(PutUpstreamProviderDto, values);
    if (errors) return this.render(ctx, 400, tenantId, { provider: { values: shown, errors } });
    try {
      await this.providers.put(ctx.meta, tenantId, value);
    } catch (e) {
      return this.render(ctx, refusalStatus(e), tenantId, { provider: formErrorFrom(e, shown, ['issuer', 'clientId', 'clientSecret', 'claimGroups']) });
    }
    this.kit.redirect(ctx, `/console/tenants/${tenantId}/sign-in`, 'provider-saved');
  }

  @Post('provider/remove')
  async removeProvider(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string): Promise<void> {
    const ctx = await this.kit.enter(req, res, { post: true });
    const tenantId = this.kit.scopedTenantId(ctx, raw, { operatorOnly: true });
    const path = `/console/tenants/${tenantId}/sign-in`;
    if ((req.body as Record<string, unknown> | undefined)?.confirm !== 'yes') {
      const p = await this.providers.get(tenantId);
      const question = `Remove company sign-in at ${p.issuer}?`;
      return this.kit.render(ctx, 200, question, 'tenants', confirmPanel({
        action: `${ctx.base}${path}/provider/remove`, csrf: ctx.chrome.csrf, back: `${ctx.base}${path}`, label: 'Remove company sign-in', question,
        consequence: 'People of this organization no longer sign in at their IdP; those without a password here cannot sign in until it is set again. The client secret is forgotten.',
      }));
    }
    await this.providers.remove(ctx.meta, tenantId);
    this.kit.redirect(ctx, path, 'provider-removed');
  }

  private async renderIssuer(ctx: ConsoleCtx, status: number, tenantId: string, issuer: TrustedIssuer, form: FormState): Promise<void> {
    const tenant = await this.tenants.findById(tenantId);
    this.kit.render(ctx, status, `Trusted issuer · ${tenant.name}`, 'tenants', issuerEditPage({ base: ctx.base, csrf: ctx.chrome.csrf, tenant, issuer, form }));
  }

  private async render(ctx: ConsoleCtx, status: number, tenantId: string, forms: { issuer?: FormState; provider?: FormState }): Promise<void> {
    const [tenant, issuers, provider] = await Promise.all([
      this.tenants.findById(tenantId),
      this.issuers.list(tenantId),
      this.providers.get(tenantId).catch((e: unknown) => {
        if (e instanceof DomainError && e.status === 404) return null;
        throw e;
      }),
    ]);
    this.kit.render(ctx, status, `Sign-in sources · ${tenant.name}`, 'tenants', signInPage({
      base: ctx.base, csrf: ctx.chrome.csrf, tenant, issuers, provider,
      issuerForm: forms.issuer ?? emptyForm(), providerForm: forms.provider ?? emptyForm(),
    }));
  }
}
