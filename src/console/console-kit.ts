import { ArgumentsHost, Catch, ExceptionFilter, Injectable, Logger } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import type { Response } from 'express';
import type { AuthenticatedRequest } from '../auth/auth.decorators';
import type { RequestMeta } from '../common/request-meta';
import { basePathOf } from '../common/redirects';
import { OPERATOR_TENANT_SLUG } from '../tenants/tenants.service';
import { CSRF_FIELD, LoginCsrfService } from '../auth/login/login-csrf.service';
import { crossSiteMessage, crossSiteSource } from '../common/same-origin';
import { assertNoOperatorFields, authorizeAdmin } from '../auth/admin-scope';
import { operatorOnlyFields } from '../common/route-protection';
import { DomainError } from '../common/errors';
import { requestMeta } from '../common/request-meta';
import { InjectConfig } from '../config/config.module';
import { Config } from '../config/configuration';
import { uuidOrNotFound } from '../common/identifiers';
import { ConsolePrincipal, OperatorsService } from './operators.service';
import type { FormState } from './views/forms';
import { bare, Chrome, layout, NavItem, sendConsole } from './views/layout';
import { html, SafeHtml } from '../common/html';
import { ConsoleError } from './console.errors';
import { fieldLabel, problemsOf } from '../common/validation-messages';

/** One console request: who, the admin-API scope, the page chrome, the audit meta. */
export interface ConsoleCtx {
  principal: ConsolePrincipal;
  chrome: Chrome;
  meta: RequestMeta;
  base: string;
  req: AuthenticatedRequest;
  res: Response;
}

/** A console page answered instead of the handler running (sign-in redirect, 403, bad CSRF). */
export class ConsoleStop extends Error {}

/** Messages shown after a POST-redirect-GET (`?done=<key>`): a fixed list, nothing echoed from the URL. */
const DONE: Record<string, string> = {
  'tenant-created': 'Tenant created.',
  'stream-replayed': 'The range is queued to be sent again, in order.',
  'stream-updated': 'The stream is saved.',
  'stream-enabled': 'The stream is enabled: new events are sent again.',
  'stream-disabled': 'The stream is disabled: new events are not queued for it.',
  'tenant-updated': 'Tenant saved.',
  'branding-updated': 'Branding saved: the sign-in, signed-out and error pages show it now.',
  'tenant-disabled': 'Tenant disabled: its users were signed out and cannot sign in until it is enabled again.',
  'tenant-enabled': 'Tenant enabled: its users can sign in again.',
  'tenant-deleted': 'Tenant deleted, with its users, groups, sessions, API keys and access grants. Its audit events are kept.',
  'target-deleted': 'Target deleted, with every tenant\'s access grant to it and its signing keys. Its audit events are kept.',
  'user-disabled': 'User disabled: their sessions were ended and they cannot sign in.',
  'user-enabled': 'User enabled: they can sign in again.',
  'user-created': 'User created.',
  'user-updated': 'User saved.',
  'password-set': 'Password set. The user\'s sessions were ended.',
  'group-created': 'Group created.',
  'group-removed': 'Group deleted.',
  'user-deleted': 'User deleted: their sessions were ended and the account removed.',
  'apikey-revoked': 'API key revoked: requests with it are refused from now on.',
  'issuer-added': 'Trusted issuer added: its tokens sign people in from now on.',
  'issuer-deleted': 'Trusted issuer deleted: its tokens no longer sign anyone in.',
  'issuer-saved': 'Trusted issuer saved: its next tokens are checked and mapped this way.',
  'provider-saved': 'Company sign-in saved.',
  'provider-removed': 'Company sign-in removed: people no longer sign in at their company IdP.',
  'apikey-created': 'API key created.',
  'handoff-updated': 'Hand-off settings saved.',
  'handoff-secret-revoked': 'Hand-off secret revoked: assertions signed with it are refused from now on.',
  'member-added': 'Added to the group.',
  'member-removed': 'Removed from the group.',
  'access-saved': 'Access grant saved.',
  'access-revoked': 'Access grant revoked.',
  'target-created': 'Target created.',
  'target-updated': 'Target saved.',
  'keys-rotated': 'New signing key published; it signs after the publication delay.',
  'session-revoked': 'Session ended.',
  'mfa-reset': 'Two-step verification reset: every factor and recovery code of the user removed.',
  'domain-added': 'Email domain added.',
  'domain-removed': 'Email domain removed.',
  'invitation-sent': 'Invitation sent.',
  'invitation-withdrawn': 'Invitation withdrawn: its link no longer works.',
};

/** Methods that change nothing (RFC 9110 §9.2.1): every other one is checked for forgery. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * What every console handler needs: the signed-in console user (or the login page), the
 * forgery checks on every POST (our own origin, and a CSRF token bound to the session), the tenant-scope
 * rule of the admin API, and rendering forms again with errors next to the fields.
 */
@Injectable()
export class ConsoleKit {
  readonly base: string;

  constructor(
    private readonly operators: OperatorsService,
    private readonly csrf: LoginCsrfService,
    @InjectConfig('app') private readonly app: Config<'app'>,
  ) {
    this.base = basePathOf(app.publicUrl);
  }

  get publicUrl(): string {
    return this.app.publicUrl;
  }

  /** The console user, or a stop: signed out -> the login page (back here after); no console role -> 403. */
  async enter(req: AuthenticatedRequest, res: Response, opts: { post?: boolean } = {}): Promise<ConsoleCtx> {
    // By the method too, so a handler that forgets `post` is still checked.
    const changes = opts.post === true || !SAFE_METHODS.has(req.method);
    const from = changes ? crossSiteSource(req.headers, this.app.publicUrl) : null;
    if (from) {
      sendConsole(res, 403, bare('Sent from another site', html`<p>${crossSiteMessage(from, this.app.publicUrl)}</p>
<p><a href="${this.base}/console">Console</a></p>`));
      throw new ConsoleStop();
    }
    const session = req.sessionContext ?? null;
    if (!session) {
      const next = req.method === 'GET' ? req.originalUrl : `${this.base}/console`;
      // Operators sign in through the operators' tenant: its slug pre-fills the organization
      // field, which a first-time operator cannot otherwise guess.
      res.set('Cache-Control', 'no-store').redirect(303, `${this.base}/login?tenant=${OPERATOR_TENANT_SLUG}&next=${encodeURIComponent(next)}`);
      throw new ConsoleStop();
    }
    const principal = await this.operators.principalFor(session);
    if (!principal) {
      sendConsole(res, 403, bare('No console access', html`<p>You are signed in as ${session.user.email}, who does not manage an organization here.</p>
<p><a href="${this.base}/account">Your account</a></p>`));
      throw new ConsoleStop();
    }
    if (changes && !this.csrf.verifySession(session.id, (req.body as Record<string, unknown> | undefined)?.[CSRF_FIELD])) {
      sendConsole(res, 400, bare('The form expired', html`<p>This form was not sent from this console page, or it is too old. Go back, reload the page and try again.</p>
<p><a href="${this.base}/console">Console</a></p>`));
      throw new ConsoleStop();
    }
    const name = `${session.user.firstName} ${session.user.lastName}`.trim() || session.user.email;
    return {
      principal,
      base: this.base,
      req,
      res,
      meta: requestMeta(req),
      chrome: {
        base: this.base,
        csrf: this.csrf.forSession(session.id),
        operator: principal.operator,
        who: `${name} · ${principal.operator ? 'operator' : `admin of ${session.tenant.name}`}`,
        ownTenantId: principal.operator ? null : session.tenant.id,
      },
    };
  }

  /**
   * The admin API's one authorization rule (auth/admin-scope.ts) for a page about one tenant:
   * another tenant (or a malformed id) is the same 404 as none. `operatorOnly` as on the
   * API route doing the same (e.g. granting access): a tenant admin gets its 403.
   */
  scopedTenantId(ctx: ConsoleCtx, raw: string, opts: { operatorOnly?: boolean } = {}): string {
    const id = uuidOrNotFound(raw, ConsoleError.TenantNotFound);
    authorizeAdmin(ctx.principal.scope, { kind: 'tenant', operatorOnly: opts.operatorOnly ?? false }, id);
    return id;
  }

  /** Global resources (targets, creating tenants): the API's @GlobalOnly() rule, a 403 for a tenant admin. */
  requireOperator(ctx: ConsoleCtx): void {
    authorizeAdmin(ctx.principal.scope, { kind: 'global', operatorOnly: true });
  }

  /** The API's @OperatorOnly() body fields (e.g. a tenant's `disabled`): refused to a tenant admin. */
  assertNoOperatorFields(ctx: ConsoleCtx, dto: unknown, body: Record<string, unknown>): void {
    assertNoOperatorFields(ctx.principal.scope, operatorOnlyFields(dto), body);
  }

  render(ctx: ConsoleCtx, status: number, title: string, nav: NavItem | null, body: SafeHtml): void {
    const done = typeof ctx.req.query.done === 'string' ? DONE[ctx.req.query.done] : undefined;
    sendConsole(ctx.res, status, layout(ctx.chrome, title, nav, body, done));
  }

  /** POST-redirect-GET. */
  redirect(ctx: ConsoleCtx, path: string, done?: keyof typeof DONE | string): void {
    const sep = path.includes('?') ? '&' : '?';
    ctx.res.set('Cache-Control', 'no-store').redirect(303, `${this.base}${path}${done ? `${sep}done=${done}` : ''}`);
  }
}

/** The form's string fields only (no _csrf, no arrays unless asked for). */
export function pick(body: unknown, names: string[], arrays: string[] = []): Record<string, unknown> {
  const b = (body ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const n of names) if (typeof b[n] === 'string') out[n] = b[n];
  for (const n of arrays) {
    const v = b[n];
    out[n] = Array.isArray(v) ? v.filter((x) => typeof x === 'string') : typeof v === 'string' ? [v] : [];
  }
  return out;
}

/**
 * Validates with the admin API's own DTO class (same decorators, same messages): the console
 * accepts exactly what the API accepts. Returns the transformed value or errors by field.
 */
export async function validateAs<T extends object>(cls: new () => T, input: Record<string, unknown>): Promise<{ value: T; errors: Record<string, string> | null }> {
  const value = plainToInstance(cls, input);
  const found = await validate(value, { whitelist: true, forbidNonWhitelisted: true });
  if (!found.length) return { value, errors: null };
  const errors: Record<string, string> = {};
  for (const p of problemsOf(found)) errors[p.field.split('.')[0]] ??= p.message;
  return { value, errors };
}

/** Which form field a service's refusal is about (by its code, else by the field its message names). */
const CODE_FIELDS: Record<string, string> = {
  tenant_slug_taken: 'slug',
  tenant_slug_reserved: 'slug',
  user_email_taken: 'email',
  group_name_taken: 'name',
  unknown_groups: 'groups',
  target_slug_taken: 'slug',
  invalid_domain: 'domain',
  email_domain_taken: 'domain',
  email_domain_in_use: 'domain',
  email_domain_owned: 'email',
};

/**
 * A 4xx DomainError from a service as form errors; anything else is rethrown (a 404 stays a
 * 404 page, a 5xx the generic error page). Problems listed in details each go to the field
 * they start with ("settings.tokenTtlSeconds must be ..." -> settings.tokenTtlSeconds).
 */
export function formErrorFrom(e: unknown, values: Record<string, unknown>, fields: string[], labels: Record<string, string> = {}): FormState {
  if (!(e instanceof DomainError) || e.status >= 500 || e.status === 404 || e.status === 401) throw e;
  const errors: Record<string, string> = {};
  const problems = Array.isArray(e.details?.problems) ? (e.details!.problems as string[]) : [e.message];
  const unplaced: string[] = [];
  for (const p of problems) {
    const byCode = CODE_FIELDS[e.code];
    const field = byCode ?? [...fields].sort((a, b) => b.length - a.length).find((f) => p === f || p.startsWith(`${f} `) || p.startsWith(`${f}.`));
    // Shown next to its field, the field named by its label rather than its JSON path.
    const label = labels[field ?? ''] ?? (field && !field.includes('.') ? fieldLabel(field) : undefined);
    const shown = field && label && (p.startsWith(`${field} `) || p.startsWith(`${field}.`)) ? `${label}${p.slice(field.length)}` : p;
    if (field && fields.includes(field)) errors[field] = errors[field] ? `${errors[field]}; ${shown}` : shown;
    else unplaced.push(p);
  }
  return { values, errors, error: unplaced.length ? unplaced.join('; ') : Object.keys(errors).length ? undefined : e.message };
}

/** The HTTP status of a refusal formErrorFrom accepted (its DomainError's own). */
export function refusalStatus(e: unknown): number {
  return e instanceof DomainError ? e.status : 400;
}

/**
 * Errors on console routes are pages, not JSON: a 404 (also another tenant's id), a 403, a
 * 4xx with its message, or for anything unexpected a 500 that says nothing internal.
 */
@Catch()
export class ConsoleErrorFilter implements ExceptionFilter {
  private readonly log = new Logger('Console');

  catch(e: unknown, host: ArgumentsHost): void {
    const req = host.switchToHttp().getRequest<AuthenticatedRequest>();
    const res = host.switchToHttp().getResponse<Response>();
    if (e instanceof ConsoleStop || res.headersSent) return;
    if (e instanceof DomainError && e.status < 500) {
      const title = e.status === 404 ? 'Not found' : e.status === 403 ? 'Not allowed' : 'That did not work';
      const text =
        e.status === 404
          ? 'There is nothing here, or it is not yours to see.'
          : e.code === 'global_key_required'
            ? 'Only a platform operator can do this.'
            : e.message;
      sendConsole(res, e.status, bare(title, html`<p>${text}</p><p><a href="${basePathOfReq(req)}/console">Back to the console</a></p>`));
      return;
    }
    this.log.error({ requestId: req.id, err: e }, 'console request failed');
    sendConsole(res, 500, bare('Something went wrong', html`<p>The request failed. Nothing was changed unless the page says so. Reference: ${String(req.id ?? '')}</p>`));
  }
}

function basePathOfReq(req: AuthenticatedRequest): string {
  const i = req.originalUrl.indexOf('/console');
  return i > 0 ? req.originalUrl.slice(0, i) : '';
}
