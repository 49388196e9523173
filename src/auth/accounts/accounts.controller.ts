import { Controller, Get, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { DomainError } from '../../common/errors';
import { isEmailAddress, normaliseEmail } from '../../common/identifiers';
import { sendPage } from '../../common/look';
import { Undocumented } from '../../common/openapi';
import { basePathOf } from '../../common/redirects';
import { requestMeta } from '../../common/request-meta';
import { LoadsSession, Public, SESSION_COOKIE } from '../../common/route-protection';
import { crossSiteMessage, crossSiteSource } from '../../common/same-origin';
import { InjectConfig } from '../../config/config.module';
import { Config } from '../../config/configuration';
import { TenantsService } from '../../tenants/tenants.service';
import { PASSWORD_MAX_LENGTH } from '../../users/passwords.service';
import { AuthenticatedRequest } from '../auth.decorators';
import { AccountLinkPurpose } from '../account-link.entity';
import { CSRF_FIELD, LoginCsrfService } from '../login/login-csrf.service';
import { SessionsService } from '../sessions.service';
import { AccountsError, AccountsService } from './accounts.service';
import { changePasswordForm, forgotPage, messagePage, setPasswordPage } from './account-pages';
import { accountPage } from '../login/pages';
import { setPendingCookie } from '../login/mfa.controller';

type Body = Record<string, unknown>;
const str = (v: unknown, max: number): string | null => (typeof v === 'string' && v.length <= max ? v : null);
const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * The browser side of accounts.service.ts: set a password from an invitation or reset link,
 * "Forgot password?", and the account page's password change. Every POST must come from our
 * own origin (Origin / Sec-Fetch-Site) and carry a CSRF token: the login form's kind before
 * sign-in (bound to the pre-session cookie), the session-bound kind on the account page.
 */
@Undocumented('HTML account pages, for browsers')
@Controller()
export class AccountsController {
  private readonly base: string;

  constructor(
    private readonly accounts: AccountsService,
    private readonly csrf: LoginCsrfService,
    private readonly tenants: TenantsService,
    private readonly sessions: SessionsService,
    @InjectConfig('app') private readonly app: Config<'app'>,
  ) {
    this.base = basePathOf(app.publicUrl);
  }

  @Public()
  @Get('account/invitation')
  showInvitation(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.showSetPassword(req, res, 'invitation');
  }

  @Public()
  @Post('account/invitation')
  acceptInvitation(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.submitSetPassword(req, res, 'invitation');
  }

  @Public()
  @Get('account/reset')
  showReset(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.showSetPassword(req, res, 'password_reset');
  }

  @Public()
  @Post('account/reset')
  submitReset(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.submitSetPassword(req, res, 'password_reset');
  }

  @Public()
  @Get('login/forgot')
  showForgot(@Req() req: Request, @Res() res: Response): void {
    const q = req.query as Body;
    const tenant = str(q.tenant, 63)?.trim().toLowerCase() ?? '';
    sendPage(res, 200, forgotPage({ basePath: this.base, csrf: this.csrf.forLoginForm(req, res), tenant, email: '', off: !this.accounts.resetsPossible }));
  }

  /**
   * The same page for every well-formed request, known account or not (the service answers
   * before it looks anything up).
   */
  @Public()
  @Post('login/forgot')
  async submitForgot(@Req() req: Request, @Res() res: Response): Promise<void> {
    if (this.refusedCrossSite(req, res)) return;
    const body = (req.body ?? {}) as Body;
    const tenantRaw = str(body.tenant, 63)?.trim().toLowerCase() ?? '';
    const emailRaw = str(body.email, 254)?.trim() ?? '';
    const again = (status: number, error: string, errors: Record<string, string> = {}) =>
      sendPage(res, status, forgotPage({ basePath: this.base, csrf: this.csrf.forLoginForm(req, res), tenant: tenantRaw, email: emailRaw, error, errors, off: !this.accounts.resetsPossible }));
    // No mail can carry a link (production without SMTP_URL): say so, whatever was posted.
    if (!this.accounts.resetsPossible) return again(200, '');
    if (!this.csrf.verifyLoginForm(req, body[CSRF_FIELD])) return again(400, 'This form expired. Please try again.');
    const errors: Record<string, string> = {};
    if (!SLUG.test(tenantRaw)) errors.tenant = 'Enter your organization’s short name (letters, digits and dashes).';
    if (!isEmailAddress(emailRaw)) errors.email = 'Enter your email address.';
    if (Object.keys(errors).length) return again(400, 'Check the fields below.', errors);
    try {
      await this.accounts.requestReset(requestMeta(req), tenantRaw, normaliseEmail(emailRaw));
    } catch (e) {
      if (e instanceof DomainError && e.status === 429) {
        res.setHeader('Retry-After', String((e as DomainError & { retryAfterSeconds?: number }).retryAfterSeconds ?? 60));
        return again(429, e.message);
      }
      throw e;
    }
    sendPage(res, 200, messagePage({
      title: 'Check your email',
      text: 'If this organization has an account with that email address, a link to choose a new password is on its way. It works once, for 30 minutes.',
      link: { href: `${this.base}/login?tenant=${encodeURIComponent(tenantRaw)}`, label: 'Back to sign in' },
    }));
  }

  /** The account page's change form (the page itself is AccountController's). */
  @LoadsSession()
  @Post('account/password')
  async changePassword(@Req() req: AuthenticatedRequest, @Res() res: Response): Promise<void> {
    if (this.refusedCrossSite(req, res)) return;
    const session = req.sessionContext ?? null;
    if (!session) {
      res.set('Cache-Control', 'no-store').redirect(303, `${this.base}/login?next=${encodeURIComponent(`${this.base}/account`)}`);
      return;
    }
    const body = (req.body ?? {}) as Body;
    const brand = await this.tenants.brandFor({ id: session.tenant.id });
    const name = `${session.user.firstName} ${session.user.lastName}`.trim();
    const again = (status: number, error: string, errors: Record<string, string> = {}) => {
      const page = accountPage({ basePath: this.base, name, email: session.user.email, tenantName: session.tenant.name, brand,
        extra: changePasswordForm({ basePath: this.base, csrf: this.csrf.forSession(session.id), email: session.user.email, error, errors }) });
      sendPage(res, status, page);
    };
    if (!this.csrf.verifySession(session.id, body[CSRF_FIELD])) return again(400, 'This form expired. Please try again.');
    const current = str(body.current, 1024);
    const next = str(body.password, 1024);
    const confirm = str(body.confirm, 1024);
    const errors: Record<string, string> = {};
    if (!current) errors.current = 'Enter your current password.';
    if (!next) errors.password = 'Enter a new password.';
    else if (next !== confirm) errors.confirm = 'The two new passwords are not the same.';
    if (Object.keys(errors).length) return again(400, 'Check the fields below.', errors);
    try {
      await this.accounts.changePassword(requestMeta(req), { tenantId: session.tenant.id, userId: session.user.id, sessionId: session.id }, current!, next!);
    } catch (e) {
      if (e instanceof DomainError && e.status === 429) {
        res.setHeader('Retry-After', String((e as DomainError & { retryAfterSeconds?: number }).retryAfterSeconds ?? 60));
        return again(429, e.message);
      }
      if (e instanceof DomainError && e.status < 500) {
        const field = e.code === 'current_password_wrong' ? 'current' : 'password';
        return again(e.status, 'Your password was not changed.', { [field]: capitalise(e.message) });
      }
      throw e;
    }
    res.set('Cache-Control', 'no-store').redirect(303, `${this.base}/account?changed=1`);
  }

  private async showSetPassword(req: Request, res: Response, purpose: AccountLinkPurpose): Promise<void> {
    const token = (req.query as Body).token;
    const owner = await this.accounts.linkOwner(token, purpose).catch((e: unknown) => {
      if (e instanceof DomainError && (e.status === 400 || e.code === AccountsError.PasswordSignInOff)) return e;
      throw e;
    });
    if (owner instanceof DomainError) return this.linkRefused(res, purpose, owner);
    const brand = await this.tenants.brandFor({ id: owner.tenantId });
    sendPage(res, 200, setPasswordPage({ basePath: this.base, purpose, csrf: this.csrf.forLoginForm(req, res), token: token as string, email: owner.email, brand }));
  }

  private async submitSetPassword(req: Request, res: Response, purpose: AccountLinkPurpose): Promise<void> {
    if (this.refusedCrossSite(req, res)) return;
    const body = (req.body ?? {}) as Body;
    const token = str(body.token, 100);
    const owner = await this.accounts.linkOwner(token, purpose).catch((e: unknown) => {
      if (e instanceof DomainError && (e.status === 400 || e.code === AccountsError.PasswordSignInOff)) return e;
      throw e;
    });
    if (owner instanceof DomainError) return this.linkRefused(res, purpose, owner);
    const brand = await this.tenants.brandFor({ id: owner.tenantId });
    const again = (status: number, error: string, errors: Record<string, string> = {}) =>
      sendPage(res, status, setPasswordPage({ basePath: this.base, purpose, csrf: this.csrf.forLoginForm(req, res), token: token!, email: owner.email, brand, error, errors }));
    if (!this.csrf.verifyLoginForm(req, body[CSRF_FIELD])) return again(400, 'This form expired. Please try again.');
    const password = str(body.password, PASSWORD_MAX_LENGTH * 4);
    const confirm = str(body.confirm, PASSWORD_MAX_LENGTH * 4);
    if (!password) return again(400, 'Check the fields below.', { password: 'Enter a new password.' });
    if (password !== confirm) return again(400, 'Check the fields below.', { confirm: 'The two passwords are not the same.' });
    let result;
    try {
      result = await this.accounts.useLink(requestMeta(req), token, purpose, password, SessionsService.idFromCookie((req.cookies as Record<string, unknown> | undefined)?.[SESSION_COOKIE]));
    } catch (e) {
      if (e instanceof DomainError && (e.code === AccountsError.LinkInvalid || e.code === AccountsError.PasswordSignInOff)) return this.linkRefused(res, purpose, e);
      if (e instanceof DomainError && e.status < 500) return again(e.status, 'Your password was not set.', { password: capitalise(e.message) });
      throw e;
    }
    if (result.pending) {
      // The tenant asks for a second step: the password is set, the sign-in waits for it.
      setPendingCookie(res, this.sessions, this.app.secureCookies, result.pending.token);
      res.set('Cache-Control', 'no-store').redirect(303, `${this.base}/login/mfa${result.pending.step === 'enrol' ? '/setup' : ''}`);
      return;
    }
    if (result.session) {
      // Signed in: the session the browser came with (if any) was another one; it is replaced.
      this.sessions.setCookie(res, result.session.token);
      res.set('Cache-Control', 'no-store').redirect(303, `${this.base}/account`);
      return;
    }
    sendPage(res, 200, messagePage({
      title: 'Password changed',
      text: 'Your new password is set, and you were signed out everywhere. Sign in with it now.',
      brand,
      link: { href: `${this.base}/login?tenant=${encodeURIComponent(owner.tenantSlug)}&email=${encodeURIComponent(owner.email)}`, label: 'Sign in' },
    }));
  }

  /** An expired / used / withdrawn link, or one of a tenant that has turned passwords off. */
  private linkRefused(res: Response, purpose: AccountLinkPurpose, e: DomainError): void {
    if (e.code !== AccountsError.PasswordSignInOff) return this.linkInvalid(res, purpose);
    sendPage(res, 403, messagePage({ title: 'Sign in with your company account', text: e.message, link: { href: `${this.base}/login/company`, label: 'Sign in with your company account' } }));
  }

  private linkInvalid(res: Response, purpose: AccountLinkPurpose): void {
    sendPage(res, 400, messagePage({
      title: 'This link no longer works',
      text: purpose === 'invitation'
        ? 'It has expired, was already used or was withdrawn. Ask whoever invited you for a new invitation.'
        : 'It has expired or was already used. Ask for a new one with "Forgot password?" on the sign-in page.',
      link: { href: purpose === 'invitation' ? `${this.base}/login` : `${this.base}/login/forgot`, label: purpose === 'invitation' ? 'Sign in' : 'Forgot password?' },
    }));
  }

  /** Forms post only from our own pages (the login form's rule): another site's is a 403. */
  private refusedCrossSite(req: Request, res: Response): boolean {
    const from = crossSiteSource(req.headers, this.app.publicUrl);
    if (!from) return false;
    sendPage(res, 403, messagePage({ title: 'Sent from another site', text: crossSiteMessage(from, this.app.publicUrl) }));
    return true;
  }
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
