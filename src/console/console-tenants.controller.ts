import { MfaService } from '../mfa/mfa.service';
import { Controller, Get, Param, Post, Req, Res, UseFilters } from '@nestjs/common';
import { Undocumented } from '../common/openapi';
import type { Response } from 'express';
import type { AuthenticatedRequest } from '../auth/auth.decorators';
import { LoadsSession } from '../common/route-protection';
import { SessionsService } from '../auth/sessions.service';
import { notFound } from '../common/errors';
import { TargetsService } from '../catalog/targets.service';
import { AccessService } from '../catalog/access.service';
import { isUuid, uuidOrNotFound } from '../common/identifiers';
import { CreateTenantDto, UpdateTenantDto } from '../tenants/dto/tenant.dto';
import { TenantsService } from '../tenants/tenants.service';
import { GroupNameDto } from '../users/dto/group.dto';
import { CreateUserDto, SetPasswordDto, UpdateUserDto } from '../users/dto/user.dto';
import { IdentitiesService } from '../identities/identities.service';
import { GroupsService } from '../users/groups.service';
import { UsersService } from '../users/users.service';
import { ConsoleCtx, ConsoleErrorFilter, ConsoleKit, formErrorFrom, refusalStatus, pick, validateAs } from './console-kit';
import { confirmPanel, emptyForm, FormState } from './views/forms';
import { brandingPreviewSvg, tenantPage, tenantsPage, userPage } from './views/tenants';
import { ConsoleError } from './console.errors';
import { attributesFromForm } from './attribute-input';
import { BrandingDto } from '../tenants/dto/branding.dto';

const BRANDING_FIELDS = ['displayName', 'logoUrl', 'accentColor', 'supportContact'];

const PAGE = 50;

/**
 * Tenants, their users and groups, in the browser. Every action calls the same domain
 * service as the admin API with the same DTO validation and the same tenant-scope rule,
 * and is audited with the signed-in user as actor (requestMeta: "user:<id>").
 */
@Undocumented('HTML operator console, for browsers')
@Controller('console/tenants')
@LoadsSession()
@UseFilters(ConsoleErrorFilter)
export class ConsoleTenantsController {
  constructor(
    private readonly kit: ConsoleKit,
    private readonly tenants: TenantsService,
    private readonly users: UsersService,
    private readonly groups: GroupsService,
    private readonly sessions: SessionsService,
    private readonly access: AccessService,
    private readonly targets: TargetsService,
    private readonly identities: IdentitiesService,
    private readonly mfa: MfaService,
  ) {}

  @Get()
  async list(@Req() req: AuthenticatedRequest, @Res() res: Response): Promise<void> {
    const ctx = await this.kit.enter(req, res);
    if (!ctx.principal.operator) return this.kit.redirect(ctx, `/console/tenants/${ctx.principal.scope.tenantId}`);
    await this.renderList(ctx, 200, emptyForm());
  }

  @Post()
  async create(@Req() req: AuthenticatedRequest, @Res() res: Response): Promise<void> {
    const ctx = await this.kit.enter(req, res, { post: true });
    // Creating a tenant needs a global key in the API: operators only.
    this.kit.requireOperator(ctx);
    const values = pick(req.body, ['name', 'slug']);
    const { value, errors } = await validateAs(CreateTenantDto, values);
    if (errors) return this.renderList(ctx, 400, { values, errors });
    try {
      const tenant = await this.tenants.create(ctx.meta, value);
      this.kit.redirect(ctx, `/console/tenants/${tenant.id}`, 'tenant-created');
    } catch (e) {
      await this.renderList(ctx, refusalStatus(e), formErrorFrom(e, values, ['name', 'slug']));
    }
  }

  @Get(':tenantId')
  async show(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string): Promise<void> {
    const ctx = await this.kit.enter(req, res);
    await this.renderTenant(ctx, 200, this.kit.scopedTenantId(ctx, raw), {});
  }

  @Post(':tenantId')
  async update(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string): Promise<void> {
    const ctx = await this.kit.enter(req, res, { post: true });
    const tenantId = this.kit.scopedTenantId(ctx, raw);
    const fields = pick(req.body, ['name', 'mfaPolicy', 'logoutLandingUrl', 'passwordSignIn']);
    const attrs = attributesFromForm(req.body as Record<string, unknown>);
    const values = { ...fields, ...attrs.values };
    // An emptied field clears the landing URL, as null does in the API.
    const landing = typeof fields.logoutLandingUrl === 'string' && fields.logoutLandingUrl.trim() === '' ? null : fields.logoutLandingUrl;
    // The select sends text; the API's field is a boolean (anything else fails its validation).
    const passwordSignIn = fields.passwordSignIn === 'true' || fields.passwordSignIn === 'false' ? { passwordSignIn: fields.passwordSignIn === 'true' } : {};
    const { value, errors } = await validateAs(UpdateTenantDto, { ...fields, ...passwordSignIn, logoutLandingUrl: landing, attributes: attrs.attributes });
    if (errors || attrs.error) return this.renderTenant(ctx, 400, tenantId, { settings: { values, errors: { ...errors, ...(attrs.error && { attributes: attrs.error }) } } });
    await this.tenants.update(ctx.meta, tenantId, value);
    this.kit.redirect(ctx, `/console/tenants/${tenantId}`, 'tenant-updated');
  }

  /** The tenant's look on its sign-in, signed-out and error pages: the API's BrandingDto, field by field. */
  @Post(':tenantId/branding')
  async updateBranding(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string): Promise<void> {
    const ctx = await this.kit.enter(req, res, { post: true });
    const tenantId = this.kit.scopedTenantId(ctx, raw);
    const values = pick(req.body, BRANDING_FIELDS);
    // An emptied field clears it (null), as in PATCH /api/v1/tenants/:id.
    const input = Object.fromEntries(BRANDING_FIELDS.map((k) => [k, typeof values[k] === 'string' && values[k].trim() !== '' ? values[k] : null]));
    const { value, errors } = await validateAs(BrandingDto, input);
    if (errors) return this.renderTenant(ctx, 400, tenantId, { branding: { values, errors } });
    await this.tenants.update(ctx.meta, tenantId, { branding: value });
    this.kit.redirect(ctx, `/console/tenants/${tenantId}`, 'branding-updated');
  }

  /**
   * A picture of the sign-in card in the tenant's colours, drawn here (an SVG through html``),
   * so the console needs no script and fetches nothing from the logo's host.
   */
  @Get(':tenantId/branding/preview.svg')
  async brandingPreview(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string): Promise<void> {
    const ctx = await this.kit.enter(req, res);
    const tenant = await this.tenants.findById(this.kit.scopedTenantId(ctx, raw));
    res.status(200).set({ 'Content-Type': 'image/svg+xml; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', 'Content-Security-Policy': "default-src 'none'" }).send(brandingPreviewSvg(tenant).toString());
  }

  @Post(':tenantId/disable')
  async disable(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string): Promise<void> {
    await this.setDisabled(req, res, raw, true);
  }

  @Post(':tenantId/enable')
  async enable(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string): Promise<void> {
    await this.setDisabled(req, res, raw, false);
  }

  /**
   * Deleting a tenant takes its users, groups, sessions, API keys, grants and sign-in settings
   * with it (foreign-key cascade) and cannot be undone: operators only (as DELETE
   * /api/v1/tenants/:id with a global key), asked first with what goes, and done only when
   * the slug is typed back.
   */
  @Post(':tenantId/delete')
  async remove(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string): Promise<void> {
    const ctx = await this.kit.enter(req, res, { post: true });
    const tenantId = this.kit.scopedTenantId(ctx, raw, { operatorOnly: true });
    const tenant = await this.tenants.findById(tenantId);
    const typed = (req.body as Record<string, unknown> | undefined)?.confirmSlug;
    // The same service as the API: the operators' tenant is refused (409), the audit event is tenant.deleted.
    if (tenant.operator || (confirmed(req) && typed === tenant.slug)) {
      await this.tenants.remove(ctx.meta, tenantId);
      return this.kit.redirect(ctx, '/console/tenants', 'tenant-deleted');
    }
    const path = `/console/tenants/${tenantId}`;
    const [users, groups, grants] = await Promise.all([
      this.users.list(tenantId, { limit: 1, offset: 0 }),
      this.groups.list(tenantId, { limit: 1, offset: 0 }),
      this.access.list(tenantId),
    ]);
    const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
    const question = `Delete ${tenant.name}?`;
    this.kit.render(ctx, confirmed(req) ? 400 : 200, question, 'tenants', confirmPanel({
      action: `${ctx.base}${path}/delete`, csrf: ctx.chrome.csrf, back: `${ctx.base}${path}`, label: 'Delete tenant',
      question,
      consequence: 'This cannot be undone. Removed with it, for good:',
      removes: [
        `${count(users.total, 'user', 'users')}, signed out at once, with their passwords, second factors and attributes`,
        `${count(groups.total, 'group', 'groups')}`,
        grants.length
          ? `${count(grants.length, 'access grant', 'access grants')} (${grants.map((g) => g.targetSlug).join(', ')}): its people no longer sign in to ${grants.length === 1 ? 'this BI tool' : 'these BI tools'}`
          : 'no access grants',
        'its API keys, email domains, sign-in sources, hand-off secrets and audit streams',
      ],
      note: 'Kept: its audit events and the record of every token issued; a token already handed to a BI tool works until it expires. To stop sign-ins but keep everything, disable the tenant instead.',
      typed: { name: 'confirmSlug', expected: tenant.slug, error: confirmed(req) ? `Type the slug ${tenant.slug} exactly to delete this tenant.` : undefined },
    }));
  }

  @Post(':tenantId/users')
  async createUser(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string): Promise<void> {
    const ctx = await this.kit.enter(req, res, { post: true });
    const tenantId = this.kit.scopedTenantId(ctx, raw);
    const values = pick(req.body, ['email', 'firstName', 'lastName', 'password', 'role'], ['groups']);
    // An empty optional field means "not given", as an absent JSON property would.
    const input = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== '' && !(Array.isArray(v) && !v.length)));
    const { value, errors } = await validateAs(CreateUserDto, input);
    const kept = { ...values, password: '' };
    if (errors) return this.renderTenant(ctx, 400, tenantId, { user: { values: kept, errors } });
    try {
      const { user } = await this.users.create(ctx.meta, tenantId, value);
      this.kit.redirect(ctx, `/console/tenants/${tenantId}/users/${user.id}`, 'user-created');
    } catch (e) {
      await this.renderTenant(ctx, refusalStatus(e), tenantId, { user: formErrorFrom(e, kept, ['email', 'firstName', 'lastName', 'password', 'role', 'groups']) });
    }
  }

  @Post(':tenantId/groups')
  async createGroup(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string): Promise<void> {
    const ctx = await this.kit.enter(req, res, { post: true });
    const tenantId = this.kit.scopedTenantId(ctx, raw);
    const values = pick(req.body, ['name']);
    const { value, errors } = await validateAs(GroupNameDto, values);
    if (errors) return this.renderTenant(ctx, 400, tenantId, { group: { values, errors } });
    try {
      await this.groups.create(ctx.meta, tenantId, value.name);
      this.kit.redirect(ctx, `/console/tenants/${tenantId}`, 'group-created');
    } catch (e) {
      await this.renderTenant(ctx, refusalStatus(e), tenantId, { group: formErrorFrom(e, values, ['name']) });
    }
  }

  @Post(':tenantId/groups/:groupId/remove')
  async removeGroup(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string, @Param('groupId') groupId: string): Promise<void> {
    const ctx = await this.kit.enter(req, res, { post: true });
    const tenantId = this.kit.scopedTenantId(ctx, raw);
    const id = uuidOrNotFound(groupId, ConsoleError.GroupNotFound);
    const path = `/console/tenants/${tenantId}`;
    if (!confirmed(req)) {
      const group = await this.groups.findById(tenantId, id);
      return this.kit.render(ctx, 200, `Delete the group ${group.name}?`, 'tenants', confirmPanel({
        action: `${ctx.base}${path}/groups/${id}/remove`, csrf: ctx.chrome.csrf, back: `${ctx.base}${path}`, label: 'Delete group',
        question: `Delete the group ${group.name}?`,
        consequence: 'Its members stay, but lose what the group gave them in every BI tool at their next sign-in (group mappings naming it no longer apply).',
      }));
    }
    await this.groups.remove(ctx.meta, tenantId, id);
    this.kit.redirect(ctx, path, 'group-removed');
  }

  /** Email domains: giving or taking one decides who the tenant may have, so operators only (as in the API). */
  @Post(':tenantId/email-domains')
  async addDomain(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string): Promise<void> {
    const ctx = await this.kit.enter(req, res, { post: true });
    const tenantId = this.kit.scopedTenantId(ctx, raw, { operatorOnly: true });
    const values = pick(req.body, ['domain']);
    try {
      await this.identities.assignDomain(ctx.meta, tenantId, String(values.domain ?? ''));
      this.kit.redirect(ctx, `/console/tenants/${tenantId}`, 'domain-added');
    } catch (e) {
      await this.renderTenant(ctx, refusalStatus(e), tenantId, { domain: formErrorFrom(e, values, ['domain']) });
    }
  }

  @Post(':tenantId/email-domains/:domain/remove')
  async removeDomain(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string, @Param('domain') domain: string): Promise<void> {
    const ctx = await this.kit.enter(req, res, { post: true });
    const tenantId = this.kit.scopedTenantId(ctx, raw, { operatorOnly: true });
    await this.identities.removeDomain(ctx.meta, tenantId, domain);
    this.kit.redirect(ctx, `/console/tenants/${tenantId}`, 'domain-removed');
  }

  @Get(':tenantId/users/:userId')
  async showUser(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string, @Param('userId') userId: string): Promise<void> {
    const ctx = await this.kit.enter(req, res);
    await this.renderUser(ctx, 200, this.kit.scopedTenantId(ctx, raw), uuidOrNotFound(userId, ConsoleError.UserNotFound), {});
  }

  @Post(':tenantId/users/:userId')
  async updateUser(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string, @Param('userId') rawUser: string): Promise<void> {
    const ctx = await this.kit.enter(req, res, { post: true });
    const tenantId = this.kit.scopedTenantId(ctx, raw);
    const userId = uuidOrNotFound(rawUser, ConsoleError.UserNotFound);
    const fields = pick(req.body, ['firstName', 'lastName', 'role']);
    const attrs = attributesFromForm(req.body as Record<string, unknown>);
    const values = { ...fields, ...attrs.values };
    const { value, errors } = await validateAs(UpdateUserDto, { ...fields, attributes: attrs.attributes });
    if (errors || attrs.error) return this.renderUser(ctx, 400, tenantId, userId, { profile: { values, errors: { ...errors, ...(attrs.error && { attributes: attrs.error }) } } });
    await this.users.update(ctx.meta, tenantId, userId, value);
    this.kit.redirect(ctx, `/console/tenants/${tenantId}/users/${userId}`, 'user-updated');
  }

  @Post(':tenantId/users/:userId/disable')
  async disableUser(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string, @Param('userId') userId: string): Promise<void> {
    await this.setUserDisabled(req, res, raw, userId, true);
  }

  @Post(':tenantId/users/:userId/enable')
  async enableUser(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string, @Param('userId') userId: string): Promise<void> {
    await this.setUserDisabled(req, res, raw, userId, false);
  }

  @Post(':tenantId/users/:userId/delete')
  async deleteUser(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string, @Param('userId') rawUser: string): Promise<void> {
    const ctx = await this.kit.enter(req, res, { post: true });
    const tenantId = this.kit.scopedTenantId(ctx, raw);
    const userId = uuidOrNotFound(rawUser, ConsoleError.UserNotFound);
    const path = `/console/tenants/${tenantId}/users/${userId}`;
    if (!confirmed(req)) {
      const user = await this.users.findById(tenantId, userId);
      return this.kit.render(ctx, 200, `Delete ${user.email}?`, 'tenants', confirmPanel({
        action: `${ctx.base}${path}/delete`, csrf: ctx.chrome.csrf, back: `${ctx.base}${path}`, label: 'Delete user',
        question: `Delete ${user.email}?`,
        consequence: 'Their sessions end at once and the account, its groups, attributes and second factors are removed for good. Disable the user instead to keep them.',
      }));
    }
    // The same service as DELETE /api/v1/tenants/:id/users/:userId (its rules, its audit event).
    await this.users.remove(ctx.meta, tenantId, userId);
    this.kit.redirect(ctx, `/console/tenants/${tenantId}`, 'user-deleted');
  }

  @Post(':tenantId/users/:userId/password')
  async setPassword(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string, @Param('userId') rawUser: string): Promise<void> {
    const ctx = await this.kit.enter(req, res, { post: true });
    const tenantId = this.kit.scopedTenantId(ctx, raw);
    const userId = uuidOrNotFound(rawUser, ConsoleError.UserNotFound);
    const { value, errors } = await validateAs(SetPasswordDto, pick(req.body, ['password']));
    if (errors) return this.renderUser(ctx, 400, tenantId, userId, { password: { values: {}, errors } });
    await this.users.setPassword(ctx.meta, tenantId, userId, value.password);
    this.kit.redirect(ctx, `/console/tenants/${tenantId}/users/${userId}`, 'password-set');
  }

  @Post(':tenantId/users/:userId/groups')
  async addToGroup(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string, @Param('userId') rawUser: string): Promise<void> {
    const ctx = await this.kit.enter(req, res, { post: true });
    const tenantId = this.kit.scopedTenantId(ctx, raw);
    const userId = uuidOrNotFound(rawUser, ConsoleError.UserNotFound);
    const { groupId } = pick(req.body, ['groupId']);
    if (!isUuid(groupId)) return this.renderUser(ctx, 400, tenantId, userId, { member: { values: {}, errors: { groupId: 'Choose a group' } } });
    try {
      await this.groups.addMember(ctx.meta, tenantId, groupId, userId);
      this.kit.redirect(ctx, `/console/tenants/${tenantId}/users/${userId}`, 'member-added');
    } catch (e) {
      await this.renderUser(ctx, refusalStatus(e), tenantId, userId, { member: formErrorFrom(e, { groupId }, ['groupId']) });
    }
  }

  @Post(':tenantId/users/:userId/groups/:groupId/remove')
  async removeFromGroup(
    @Req() req: AuthenticatedRequest,
    @Res() res: Response,
    @Param('tenantId') raw: string,
    @Param('userId') rawUser: string,
    @Param('groupId') groupId: string,
  ): Promise<void> {
    const ctx = await this.kit.enter(req, res, { post: true });
    const tenantId = this.kit.scopedTenantId(ctx, raw);
    const userId = uuidOrNotFound(rawUser, ConsoleError.UserNotFound);
    await this.groups.removeMember(ctx.meta, tenantId, uuidOrNotFound(groupId, ConsoleError.GroupNotFound), userId);
    this.kit.redirect(ctx, `/console/tenants/${tenantId}/users/${userId}`, 'member-removed');
  }

  @Post(':tenantId/users/:userId/sessions/:sessionId/revoke')
  async revokeSession(
    @Req() req: AuthenticatedRequest,
    @Res() res: Response,
    @Param('tenantId') raw: string,
    @Param('userId') rawUser: string,
    @Param('sessionId') sessionId: string,
  ): Promise<void> {
    const ctx = await this.kit.enter(req, res, { post: true });
    const tenantId = this.kit.scopedTenantId(ctx, raw);
    const userId = uuidOrNotFound(rawUser, ConsoleError.UserNotFound);
    if (!/^[0-9a-f]{64}$/.test(sessionId)) throw notFound(ConsoleError.SessionNotFound);
    await this.sessions.revokeByAdmin(ctx.meta, tenantId, userId, sessionId);
    this.kit.redirect(ctx, `/console/tenants/${tenantId}/users/${userId}`, 'session-revoked');
  }

  /** A user lost their phone and their recovery codes: every factor removed (audited as mfa.reset). */
  @Post(':tenantId/users/:userId/mfa/reset')
  async resetMfa(@Req() req: AuthenticatedRequest, @Res() res: Response, @Param('tenantId') raw: string, @Param('userId') rawUser: string): Promise<void> {
    const ctx = await this.kit.enter(req, res, { post: true });
    const tenantId = this.kit.scopedTenantId(ctx, raw);
    const userId = uuidOrNotFound(rawUser, ConsoleError.UserNotFound);
    await this.users.findById(tenantId, userId);
    await this.mfa.reset(ctx.meta, tenantId, userId);
    this.kit.redirect(ctx, `/console/tenants/${tenantId}/users/${userId}`, 'mfa-reset');
  }

  private async setDisabled(req: AuthenticatedRequest, res: Response, raw: string, disabled: boolean): Promise<void> {
    const ctx = await this.kit.enter(req, res, { post: true });
    const tenantId = this.kit.scopedTenantId(ctx, raw);
    // `disabled` is operator-only in the API: a tenant admin must not lift their own suspension.
    this.kit.assertNoOperatorFields(ctx, UpdateTenantDto, { disabled });
    const path = `/console/tenants/${tenantId}`;
    if (disabled && !confirmed(req)) {
      const tenant = await this.tenants.findById(tenantId);
      return this.kit.render(ctx, 200, `Disable ${tenant.name}?`, 'tenants', confirmPanel({
        action: `${ctx.base}${path}/disable`, csrf: ctx.chrome.csrf, back: `${ctx.base}${path}`, label: 'Disable tenant',
        question: `Disable ${tenant.name}?`,
        consequence: 'All its users are signed out at once and cannot sign in, to this console or to any BI tool, until an operator enables it again. Nothing is deleted.',
      }));
    }
    await this.tenants.update(ctx.meta, tenantId, { disabled });
    this.kit.redirect(ctx, path, disabled ? 'tenant-disabled' : 'tenant-enabled');
  }

  private async setUserDisabled(req: AuthenticatedRequest, res: Response, raw: string, rawUser: string, disabled: boolean): Promise<void> {
    const ctx = await this.kit.enter(req, res, { post: true });
    const tenantId = this.kit.scopedTenantId(ctx, raw);
    const userId = uuidOrNotFound(rawUser, ConsoleError.UserNotFound);
    const path = `/console/tenants/${tenantId}/users/${userId}`;
    if (disabled && !confirmed(req)) {
      const user = await this.users.findById(tenantId, userId);
      return this.kit.render(ctx, 200, `Disable ${user.email}?`, 'tenants', confirmPanel({
        action: `${ctx.base}${path}/disable`, csrf: ctx.chrome.csrf, back: `${ctx.base}${path}`, label: 'Disable user',
        question: `Disable ${user.email}?`,
        consequence: 'Their sessions end at once and they cannot sign in until enabled again. Nothing is deleted.',
      }));
    }
    await this.users.update(ctx.meta, tenantId, userId, { disabled });
    this.kit.redirect(ctx, path, disabled ? 'user-disabled' : 'user-enabled');
  }

  private async renderList(ctx: ConsoleCtx, status: number, create: FormState): Promise<void> {
    const q = typeof ctx.req.query.q === 'string' ? ctx.req.query.q.slice(0, 100) : '';
    const rawOffset = Number(ctx.req.query.offset);
    const offset = Number.isInteger(rawOffset) && rawOffset >= 0 && rawOffset < 1e9 ? rawOffset : 0;
    const { items, total } = await this.tenants.list({ limit: PAGE, offset, search: q || undefined });
    this.kit.render(ctx, status, 'Tenants', 'tenants', tenantsPage({ base: ctx.base, csrf: ctx.chrome.csrf, tenants: items, total, offset, limit: PAGE, q, create }));
  }

  private async renderTenant(ctx: ConsoleCtx, status: number, tenantId: string, forms: Parameters<typeof tenantPage>[0]['forms']): Promise<void> {
    const tenant = await this.tenants.findById(tenantId);
    const userQuery = typeof ctx.req.query.email === 'string' ? ctx.req.query.email.slice(0, 254) : '';
    const [{ items, total }, groups, grants, targets, domains] = await Promise.all([
      this.users.list(tenantId, { limit: 200, offset: 0, email: userQuery || undefined }),
      this.groups.list(tenantId, { limit: 200, offset: 0 }),
      this.access.list(tenantId),
      ctx.principal.operator ? this.targets.list() : Promise.resolve([]),
      this.identities.listDomains(tenantId),
    ]);
    const users = await Promise.all(items.map(async (u) => Object.assign(u, { groups: await this.users.groupNamesOf(tenantId, u.id) })));
    this.kit.render(ctx, status, tenant.name, 'tenants', tenantPage({
      base: ctx.base, csrf: ctx.chrome.csrf, operator: ctx.principal.operator, tenant, users, usersTotal: total, userQuery, groups: groups.items, grants, targets, domains: domains.map((d) => d.domain), forms,
    }));
  }

  private async renderUser(ctx: ConsoleCtx, status: number, tenantId: string, userId: string, forms: Parameters<typeof userPage>[0]['forms']): Promise<void> {
    const [tenant, user] = await Promise.all([this.tenants.findById(tenantId), this.users.findById(tenantId, userId)]);
    const [groups, allGroups, sessions, mfa] = await Promise.all([
      this.groups.groupsOfUser(tenantId, userId),
      this.groups.list(tenantId, { limit: 200, offset: 0 }),
      this.sessions.listForUser(tenantId, userId),
      this.mfa.state(userId, tenantId),
    ]);
    this.kit.render(ctx, status, user.email, 'tenants', userPage({ base: ctx.base, csrf: ctx.chrome.csrf, tenant, user, groups, allGroups: allGroups.items, sessions, mfa, forms }));
  }
}

/** A destructive action runs only from its confirmation page's button (`confirm=yes`). */
const confirmed = (req: AuthenticatedRequest): boolean => (req.body as Record<string, unknown> | undefined)?.confirm === 'yes';
