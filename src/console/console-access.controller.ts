import { Controller, Get, Param, Post, Req, Res, UseFilters } from '@nestjs/common';
import { Undocumented } from '../common/openapi';
import type { Response } from 'express';
import { AuthenticatedRequest } from '../auth/auth.decorators';
import { LoadsSession } from '../common/route-protection';
import { DomainError } from '../common/errors';
import { AccessService } from '../catalog/access.service';
import { TargetsService } from '../catalog/targets.service';
import { targetDefinition } from '../products';
import { MAX_EMAIL_LENGTH, normaliseEmail, uuidOrNotFound } from '../common/identifiers';
import { TenantsService } from '../tenants/tenants.service';
import { GroupsService } from '../users/groups.service';
import { UsersService } from '../users/users.service';
import { ConsoleCtx, ConsoleErrorFilter, ConsoleKit, formErrorFrom, refusalStatus } from './console-kit';
import { productSchema } from './product-schemas';
import { fieldNames, fieldTitles, settingsFromForm, valuesFromSettings } from './schema-form';
import { confirmPanel, FormState } from './views/forms';
import { accessPage, tryItPage } from './views/access';
import type { AttributeValue } from '../products/attributes';
import { formatAttributeInput, parseAttributeInput } from './attribute-input';
import { ConsoleError } from './console.errors';

/**
 * A tenant's access grant to a target (granting is an operator's, as a global key's in the
 * admin API; a tenant admin reads it), and Try it: the claims a user's token would carry.
 */
@Undocumented('HTML operator console, for browsers')
@Controller('console/tenants/:tenantId/access')
@LoadsSession()
@UseFilters(ConsoleErrorFilter)
export class ConsoleAccessController {
  constructor(
    private readonly kit: ConsoleKit,
    private readonly tenants: TenantsService,
    private readonly targets: TargetsService,
    private readonly access: AccessService,
    private readonly groups: GroupsService,
    private readonly users: UsersService,
  ) {}

  /** The "grant a target" chooser's GET. */
  @Get()
  async choose(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string): Promise<void> {
    const ctx = await this.kit.enter(req, res);
    const tenantId = this.kit.scopedTenantId(ctx, raw);
    this.kit.redirect(ctx, `/console/tenants/${tenantId}/access/${uuidOrNotFound(String(req.query.target ?? ''), ConsoleError.TargetNotFound)}`);
  }

  @Get(':targetId')
  async show(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string, @Param('targetId') targetId: string): Promise<void> {
    const ctx = await this.kit.enter(req, res);
    await this.render(ctx, 200, this.kit.scopedTenantId(ctx, raw), uuidOrNotFound(targetId, ConsoleError.TargetNotFound), null);
  }

  @Post(':targetId')
  async save(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string, @Param('targetId') rawTarget: string): Promise<void> {
    const ctx = await this.kit.enter(req, res, { post: true });
    const tenantId = this.kit.scopedTenantId(ctx, raw, { operatorOnly: true });
    const target = await this.targets.get(uuidOrNotFound(rawTarget, ConsoleError.TargetNotFound));
    const product = productSchema(target.kind)!;
    const body = req.body as Record<string, unknown>;
    const rows = (a: string, b: string) => {
      const left = list(body[a]);
      const right = list(body[b]);
      return left.map((l, i) => [l.trim(), (right[i] ?? '').trim()] as const).concat(right.slice(left.length).map((r) => ['', r.trim()] as const));
    };
    const values: Record<string, unknown> = { gm_local: list(body.gm_local), gm_product: list(body.gm_product), attr_key: list(body.attr_key), attr_value: list(body.attr_value) };
    for (const k of fieldNames(product.accessSettingsSchema, 'settings')) if (typeof body[k] === 'string') values[k] = body[k];
    const errors: Record<string, string> = {};
    const groupMappings: Record<string, string[]> = {};
    for (const [local, mapped] of rows('gm_local', 'gm_product')) {
      if (!local && !mapped) continue;
      if (!local || !mapped) errors.groupMappings = 'each row needs a tenant group and at least one product group';
      else groupMappings[local] = mapped.split(',').map((s) => s.trim()).filter(Boolean);
    }
    const attributes: Record<string, AttributeValue> = {};
    for (const [k, v] of rows('attr_key', 'attr_value')) {
      if (!k && !v) continue;
      if (!k) errors.attributes = 'each attribute needs a name';
      else attributes[k] = parseAttributeInput(v);
    }
    const { settings, problems } = settingsFromForm(product.accessSettingsSchema, 'settings', body);
    Object.assign(errors, problems);
    if (Object.keys(errors).length) return this.render(ctx, 400, tenantId, target.id, { values, errors });
    try {
      // The same service and the same per-product checks as PUT /api/v1/tenants/:id/access/:target.
      await this.access.grant(ctx.meta, tenantId, target.id, { groupMappings, attributes, settings });
      this.kit.redirect(ctx, `/console/tenants/${tenantId}/access/${target.id}`, 'access-saved');
    } catch (e) {
      await this.render(ctx, refusalStatus(e), tenantId, target.id, formErrorFrom(e, values, ['groupMappings', 'attributes', 'settings', ...fieldNames(product.accessSettingsSchema, 'settings')], fieldTitles(product.accessSettingsSchema, 'settings')));
    }
  }

  @Post(':targetId/revoke')
  async revoke(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string, @Param('targetId') rawTarget: string): Promise<void> {
    const ctx = await this.kit.enter(req, res, { post: true });
    const tenantId = this.kit.scopedTenantId(ctx, raw, { operatorOnly: true });
    const targetId = uuidOrNotFound(rawTarget, ConsoleError.TargetNotFound);
    if ((req.body as Record<string, unknown> | undefined)?.confirm !== 'yes') {
      const [tenant, target] = await Promise.all([this.tenants.findById(tenantId), this.targets.get(targetId)]);
      const path = `${ctx.base}/console/tenants/${tenantId}/access/${targetId}`;
      const question = `Revoke ${tenant.name}'s access to ${target.name || target.slug}?`;
      return this.kit.render(ctx, 200, question, 'tenants', confirmPanel({
        action: `${path}/revoke`, csrf: ctx.chrome.csrf, back: path, label: 'Revoke access', question,
        consequence: `Its users can no longer open ${target.name || target.slug}; its group mappings, attributes and settings for it are removed. Granting again starts from empty.`,
      }));
    }
    await this.access.revoke(ctx.meta, tenantId, targetId);
    this.kit.redirect(ctx, `/console/tenants/${tenantId}`, 'access-revoked');
  }

  /**
   * Try it: the claims the product file would put in this user's token now, built by the
   * same claims builder the SSO (or token) flow uses — decoded, never signed, nothing recorded.
   */
  @Get(':targetId/try')
  async tryIt(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string, @Param('targetId') rawTarget: string): Promise<void> {
    const ctx = await this.kit.enter(req, res);
    const tenantId = this.kit.scopedTenantId(ctx, raw);
    const [tenant, target] = await Promise.all([this.tenants.findById(tenantId), this.targets.get(uuidOrNotFound(rawTarget, ConsoleError.TargetNotFound))]);
    const product = productSchema(target.kind)!;
    const email = typeof req.query.email === 'string' ? normaliseEmail(req.query.email).slice(0, MAX_EMAIL_LENGTH) : '';
    const session = ctx.principal.session;
    const [grant, ownGrant] = await Promise.all([this.access.find(tenantId, target.id), this.access.find(session.tenant.id, target.id)]);
    let claims: Record<string, unknown> | null = null;
    let problem: string | null = null;
    let formError: string | undefined;
    // The product's claims builder: its SSO token's, else the token it signs for its SDK or URL.
    const def = targetDefinition(target.kind);
    const sso = def?.sso ?? def?.token;
    const preview = def?.broker?.preview;
    if (email) {
      const user = await this.users.findByEmail(tenantId, email);
      if (!user) formError = `no user with email ${email} in ${tenant.name}`;
      else if (!grant) problem = `${tenant.name} has no access grant for this target: its users would be refused.`;
      else if (!sso && !preview) problem = `${product.label} signs no token for users (a token broker): nothing to show.`;
      else {
        const now = Math.floor(Date.now() / 1000);
        try {
          const base = {
            target: { id: target.id, slug: target.slug, baseUrl: target.baseUrl, settings: target.settings },
            access: { groupMappings: grant.groupMappings, attributes: grant.attributes, settings: grant.settings },
            tenant: { id: tenant.id, slug: tenant.slug, name: tenant.name, attributes: tenant.attributes },
            user: { id: user.id, email: user.email, firstName: user.firstName, lastName: user.lastName, attributes: user.attributes },
            groups: await this.users.groupNamesOf(tenantId, user.id),
          };
          // A broker's preview: what it would ask the product for (nothing is called).
          claims = sso ? sso.claims({ ...base, iat: now, jti: '(assigned when issued)' }, now + sso.ttlSeconds(target.settings)) : preview!({ ...base, iat: now, jti: '(assigned when issued)' });
        } catch (e) {
          if (!(e instanceof DomainError)) throw e;
          problem = e.message;
        }
      }
    }
    this.kit.render(ctx, formError ? 400 : 200, `Try ${target.name || target.slug}`, ctx.principal.operator ? 'targets' : 'tenants', tryItPage({
      base: ctx.base, tenant, target, product, email, claims, problem, formError,
      canOpen: ownGrant !== null && !target.disabled,
      // A workbook to open (a product whose URL carries the token), when it looks like one.
      linkPath: linkPathOf(target.kind, req.query),
      ownTenantName: session.tenant.name,
    }));
  }

  private async render(ctx: ConsoleCtx, status: number, tenantId: string, targetId: string, form: FormState | null): Promise<void> {
    const [tenant, target, existing, groups] = await Promise.all([
      this.tenants.findById(tenantId),
      this.targets.get(targetId),
      this.access.list(tenantId).then((all) => all.find((a) => a.targetId === targetId) ?? null),
      this.groups.list(tenantId, { limit: 200, offset: 0 }),
    ]);
    const product = productSchema(target.kind)!;
    const initial: FormState = {
      values: existing
        ? {
            gm_local: Object.keys(existing.groupMappings),
            gm_product: Object.values(existing.groupMappings).map((v) => v.join(', ')),
            attr_key: Object.keys(existing.attributes),
            attr_value: Object.values(existing.attributes).map(formatAttributeInput),
            ...valuesFromSettings(product.accessSettingsSchema, 'settings', existing.settings as Record<string, unknown>),
          }
        : {},
      errors: {},
    };
    this.kit.render(ctx, status, `${tenant.name} · ${target.name || target.slug}`, 'tenants', accessPage({
      base: ctx.base, csrf: ctx.chrome.csrf, operator: ctx.principal.operator, tenant, target, product, existing, groupNames: groups.items.map((g) => g.name), form: form ?? initial,
    }));
  }
}

function linkPathOf(kind: string, query: Record<string, unknown>): string | null {
  const link = targetDefinition(kind)?.token?.link;
  const v = link ? query[link.resource] : undefined;
  return link && typeof v === 'string' && link.path.test(v) ? v : null;
}

const list = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : []);
