import { Controller, Get, Param, Post, Req, Res, UseFilters } from '@nestjs/common';
import { Undocumented } from '../common/openapi';
import type { Response } from 'express';
import { CreateTargetDto, UpdateTargetDto } from '../admin/dto/target.dto';
import { AuthenticatedRequest } from '../auth/auth.decorators';
import { LoadsSession } from '../common/route-protection';
import { notFound } from '../common/errors';
import type { TargetView } from '../catalog/dto/target-input';
import { AccessService } from '../catalog/access.service';
import { TargetsService } from '../catalog/targets.service';
import { TargetKeysService } from '../catalog/target-keys';
import { InjectConfig } from '../config/config.module';
import { Config } from '../config/configuration';
import { keyPairSigningOf } from '../products/product-definition';
import { uuidOrNotFound } from '../common/identifiers';
import { TenantsService } from '../tenants/tenants.service';
import { ConsoleCtx, ConsoleErrorFilter, ConsoleKit, formErrorFrom, refusalStatus, validateAs } from './console-kit';
import { ProductSchema, productSchema, productSchemas } from './product-schemas';
import { fieldNames, fieldTitles, settingsFromForm, valuesFromSettings } from './schema-form';
import { targetDefinition } from '../products';
import { confirmPanel, emptyForm, FormState } from './views/forms';
import { chooseKindPage, deletePanel, keysPanel, rotateConfirm, setupPanel, targetForm, targetsPage, tryItChooser } from './views/targets';
import { ConsoleError } from './console.errors';
import { html } from '../common/html';

const COMMON_FIELDS = ['name', 'slug', 'baseUrl', 'disabled', 'kind'];

/**
 * BI targets (global: operators only, as a global API key in the admin API). Forms come from
 * each product's settings schema; secrets are write-only ("set" / type to replace).
 */
@Undocumented('HTML operator console, for browsers')
@Controller('console/targets')
@LoadsSession()
@UseFilters(ConsoleErrorFilter)
export class ConsoleTargetsController {
  constructor(
    private readonly kit: ConsoleKit,
    private readonly targets: TargetsService,
    private readonly tenants: TenantsService,
    private readonly access: AccessService,
    private readonly keys: TargetKeysService,
    @InjectConfig('tokens') private readonly tokens: Config<'tokens'>,
  ) {}

  @Get()
  async list(@Req() req: AuthenticatedRequest, @Res() res: Response): Promise<void> {
    const ctx = await this.operator(req, res);
    this.kit.render(ctx, 200, 'Targets', 'targets', targetsPage({ base: ctx.base, targets: await this.targets.list(), products: productSchemas() }));
  }

  @Get('new')
  async newForm(@Req() req: AuthenticatedRequest, @Res() res: Response): Promise<void> {
    const ctx = await this.operator(req, res);
    const kind = typeof req.query.kind === 'string' ? req.query.kind : '';
    // Without a kind (a hand-typed or shared URL), the kinds to choose from rather than a 404.
    if (!kind) {
      return this.kit.render(ctx, 200, 'New target', 'targets', chooseKindPage(ctx.base, productSchemas()));
    }
    const product = productSchema(kind);
    if (!product) throw notFound(ConsoleError.ProductNotFound);
    this.renderForm(ctx, 200, product, undefined, emptyForm());
  }

  @Post()
  async create(@Req() req: AuthenticatedRequest, @Res() res: Response): Promise<void> {
    const ctx = await this.operator(req, res, true);
    const body = req.body as Record<string, unknown>;
    const product = productSchema(String(body.kind ?? ''));
    if (!product) throw notFound(ConsoleError.ProductNotFound);
    const { values, input, problems } = this.read(product, body);
    const { value, errors } = await validateAs(CreateTargetDto, input);
    if (errors || Object.keys(problems).length) return this.renderForm(ctx, 400, product, undefined, { values, errors: { ...problems, ...errors } });
    try {
      const target = await this.targets.create(ctx.meta, value);
      this.kit.redirect(ctx, `/console/targets/${target.id}`, 'target-created');
    } catch (e) {
      this.renderForm(ctx, refusalStatus(e), product, undefined, formErrorFrom(e, values, [...COMMON_FIELDS, ...product.secrets.map((x) => `secrets.${x.name}`), ...fieldNames(product.settingsSchema, 'settings')], fieldTitles(product.settingsSchema, 'settings')));
    }
  }

  @Get(':id')
  async show(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('id') id: string): Promise<void> {
    const ctx = await this.operator(req, res);
    const target = await this.targets.get(uuidOrNotFound(id, ConsoleError.TargetNotFound));
    const product = productSchema(target.kind)!;
    const values = { name: target.name, baseUrl: target.baseUrl, disabled: target.disabled ? 'true' : '', ...valuesFromSettings(product.settingsSchema, 'settings', target.settings) };
    await this.renderTarget(ctx, 200, target, product, { values, errors: {} });
  }

  @Post(':id')
  async update(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('id') rawId: string): Promise<void> {
    const ctx = await this.operator(req, res, true);
    const target = await this.targets.get(uuidOrNotFound(rawId, ConsoleError.TargetNotFound));
    const product = productSchema(target.kind)!;
    const { values, input, problems } = this.read(product, req.body as Record<string, unknown>);
    const { slug: _slug, kind: _kind, ...patch } = input;
    patch.disabled = values.disabled === 'true';
    const { value, errors } = await validateAs(UpdateTargetDto, patch);
    if (errors || Object.keys(problems).length) return this.renderTarget(ctx, 400, target, product, { values, errors: { ...problems, ...errors } });
    try {
      await this.targets.update(ctx.meta, target.id, value);
      this.kit.redirect(ctx, `/console/targets/${target.id}`, 'target-updated');
    } catch (e) {
      await this.renderTarget(ctx, refusalStatus(e), target, product, formErrorFrom(e, values, [...COMMON_FIELDS, ...product.secrets.map((x) => `secrets.${x.name}`), ...fieldNames(product.settingsSchema, 'settings')], fieldTitles(product.settingsSchema, 'settings')));
    }
  }

  /** Rotation, confirmed first: this page explains what happens, its form does it. */
  @Get(':id/keys/rotate')
  async rotateForm(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('id') rawId: string): Promise<void> {
    const ctx = await this.operator(req, res);
    const target = await this.targets.get(uuidOrNotFound(rawId, ConsoleError.TargetNotFound));
    const pending = (await this.keys.list(target.id)).find((k) => k.state === 'next');
    this.kit.render(ctx, 200, `Rotate keys: ${target.name || target.slug}`, 'targets', rotateConfirm({ base: ctx.base, csrf: ctx.chrome.csrf, target, delaySeconds: this.tokens.signingKeyPublicationDelaySeconds, pending }));
  }

  @Post(':id/keys/rotate')
  async rotate(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('id') rawId: string): Promise<void> {
    const ctx = await this.operator(req, res, true);
    const id = uuidOrNotFound(rawId, ConsoleError.TargetNotFound);
    await this.keys.rotate(ctx.meta, id);
    this.kit.redirect(ctx, `/console/targets/${id}`, 'keys-rotated');
  }

  /**
   * Deleting a target ends sign-ins to it for every tenant granted it and drops its signing keys
   * (foreign-key cascade): asked first with who loses what, done only when the slug is typed back.
   */
  @Post(':id/delete')
  async remove(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('id') rawId: string): Promise<void> {
    const ctx = await this.operator(req, res, true);
    const target = await this.targets.get(uuidOrNotFound(rawId, ConsoleError.TargetNotFound));
    const body = (req.body ?? {}) as Record<string, unknown>;
    const asked = body.confirm === 'yes';
    if (asked && body.confirmSlug === target.slug) {
      // The same service as DELETE /api/v1/targets/:id (its audit event, target.deleted).
      await this.targets.remove(ctx.meta, target.id);
      return this.kit.redirect(ctx, '/console/targets', 'target-deleted');
    }
    const granted = (await Promise.all((await this.access.tenantsGranted(target.id)).map((id) => this.tenants.findById(id)))).sort((a, b) => a.name.localeCompare(b.name));
    const name = target.name || target.slug;
    const keyPair = (() => {
      const def = targetDefinition(target.kind);
      return def !== undefined && keyPairSigningOf(def) !== null;
    })();
    this.kit.render(ctx, asked ? 400 : 200, `Delete ${name}?`, 'targets', confirmPanel({
      action: `${ctx.base}/console/targets/${target.id}/delete`, csrf: ctx.chrome.csrf, back: `${ctx.base}/console/targets/${target.id}`, label: 'Delete target',
      question: `Delete ${name}?`,
      consequence: 'This cannot be undone. Sign-ins to it through /sso/' + target.slug + ' stop at once, and these go with it:',
      removes: [
        granted.length
          ? `the access grants of ${granted.length === 1 ? '1 tenant' : `${granted.length} tenants`} (${granted.map((g) => g.name).join(', ')}), with their group mappings and attributes`
          : 'no access grants: no tenant uses it',
        keyPair ? 'its signing keys: the JWKS it publishes goes too, so tokens it signed no longer verify' : 'its secrets and settings',
      ],
      note: 'Kept: its audit events and the record of every token issued. To stop sign-ins but keep everything, tick "Disabled" in its settings instead.',
      typed: { name: 'confirmSlug', expected: target.slug, error: asked ? `Type the slug ${target.slug} exactly to delete this target.` : undefined },
    }));
  }

  /** The Try-it chooser's GET: on to the tenant-scoped page (where the tenant's grant is). */
  @Get(':id/try')
  async tryIt(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('id') rawId: string): Promise<void> {
    const ctx = await this.operator(req, res);
    const id = uuidOrNotFound(rawId, ConsoleError.TargetNotFound);
    const tenantId = this.kit.scopedTenantId(ctx, String(req.query.tenant ?? ''));
    const email = typeof req.query.email === 'string' ? req.query.email.slice(0, 254) : '';
    this.kit.redirect(ctx, `/console/tenants/${tenantId}/access/${id}/try?email=${encodeURIComponent(email)}`);
  }

  /** The form's fields as typed (for re-rendering; secrets never) and as the API's input. */
  private read(product: ProductSchema, body: Record<string, unknown>) {
    const text = (k: string) => (typeof body[k] === 'string' ? (body[k] as string) : '');
    const { settings, problems } = settingsFromForm(product.settingsSchema, 'settings', body);
    const values: Record<string, unknown> = { kind: product.kind, name: text('name'), slug: text('slug'), baseUrl: text('baseUrl'), disabled: text('disabled') };
    for (const k of fieldNames(product.settingsSchema, 'settings')) if (typeof body[k] === 'string') values[k] = body[k];
    const input: Record<string, unknown> = { kind: product.kind, slug: text('slug'), name: text('name').trim(), baseUrl: text('baseUrl').trim(), settings };
    // Write-only: an empty secret field means "keep" (edit) or "none" (create).
    const secrets: Record<string, string> = {};
    for (const s of product.secrets) if (text(`secrets.${s.name}`) !== '') secrets[s.name] = text(`secrets.${s.name}`);
    if (Object.keys(secrets).length) input.secrets = secrets;
    return { values, input, problems };
  }

  private async operator(req: AuthenticatedRequest, res: Response, post = false): Promise<ConsoleCtx> {
    const ctx = await this.kit.enter(req, res, { post });
    this.kit.requireOperator(ctx);
    return ctx;
  }

  private renderForm(ctx: ConsoleCtx, status: number, product: ProductSchema, target: TargetView | undefined, form: FormState): void {
    this.kit.render(ctx, status, `New ${product.label} target`, 'targets', html`<section class="card">${targetForm({ base: ctx.base, csrf: ctx.chrome.csrf, product, target, form })}</section>`);
  }

  private async renderTarget(ctx: ConsoleCtx, status: number, target: TargetView, product: ProductSchema, form: FormState): Promise<void> {
    // Group names to create in the product: every name any grant maps to on this target.
    const [tenants, productGroups] = await Promise.all([
      this.tenants.list({ limit: 200, offset: 0 }).then((p) => p.items),
      this.access.mappedGroupNames(target.id),
    ]);
    const def = targetDefinition(target.kind);
    const keys = def && keyPairSigningOf(def) ? await this.keys.list(target.id) : null;
    // What to type into the product's admin screen: its definition's guide (src/products/<kind>/),
    // with the public keys a product may be given pasted (Qlik).
    const publicKeys = keys?.flatMap((k) => (k.state === 'active' || k.state === 'next' ? [{ kid: k.kid, state: k.state, pem: k.publicKeyPem, signsFrom: k.signsFrom }] : []));
    const guide = def?.setupGuide?.({ ...target, publicKeys }, this.kit.publicUrl, productGroups) ?? null;
    this.kit.render(
      ctx,
      status,
      target.name || target.slug,
      'targets',
      html`<div class="grid">${guide && setupPanel(guide)}${tryItChooser({ base: ctx.base, target, tenants })}</div>
${keys && keysPanel({ base: ctx.base, target, keys, delaySeconds: this.tokens.signingKeyPublicationDelaySeconds })}
<section class="card" aria-labelledby="edit-h"><h2 id="edit-h">Settings</h2>${targetForm({ base: ctx.base, csrf: ctx.chrome.csrf, product, target, form })}</section>
${deletePanel(ctx.base, ctx.chrome.csrf, target)}`,
    );
  }
}
