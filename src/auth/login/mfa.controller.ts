import { Controller, Get, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AuditService } from '../../audit/audit.service';
import { MFA_PENDING_COOKIE, wireCookieName } from '../../common/cookie-names';
import type { Page } from '../../common/look';
import { Undocumented } from '../../common/openapi';
import { basePathOf, safeLocalPath } from '../../common/redirects';
import { LoadsSession, SESSION_COOKIE } from '../../common/route-protection';
import { crossSiteSource } from '../../common/same-origin';
import { InjectConfig } from '../../config/config.module';
import { Config } from '../../config/configuration';
import { hasFactor, MfaService, PENDING_SECONDS, MfaUser, normalizeRecoveryCode, PendingLogin } from '../../mfa/mfa.service';
import { TenantsService } from '../../tenants/tenants.service';
import { CurrentSession } from '../auth.decorators';
import type { SessionContext } from '../auth.types';
import { SessionsService } from '../sessions.service';
import { CSRF_FIELD, LoginCsrfService } from './login-csrf.service';
import { LoginThrottleService } from './login-throttle.service';
import { LoginRequestMeta, LoginService } from './login.service';
import { mfaChallengePage, mfaSetupPage, recoveryCodesPage, SetupView, totpSetupPage } from './mfa-pages';
import { MFA_SCRIPT } from './mfa-script';
import { sendPage } from './pages';

/** @simplewebauthn/browser's own bundle, served from here (no CDN: the page's CSP allows only 'self'). */
// The package exports only its module entry; the browser bundle sits beside it (its `unpkg` file).
const WEBAUTHN_BROWSER = readFileSync(join(dirname(require.resolve('@simplewebauthn/browser')), '..', 'dist', 'bundle', 'index.umd.min.js'), 'utf8');

const WRONG_CODE = 'That code is not right, or was already used. Check it and try again.';
const LOCKED = 'Too many attempts. Wait a while and sign in again.';

/** Whose factors a request deals with: a sign-in waiting for its second step, or a signed-in session. */
type Subject = { kind: 'pending'; pending: PendingLogin; user: MfaUser } | { kind: 'session'; session: SessionContext; user: MfaUser };

class Refused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Two-step verification (README "Two-step verification"): the second step of a password
 * sign-in (`/login/mfa`), and setting factors up (`/login/mfa/setup`), either while a sign-in
 * to a tenant that requires a factor waits for one, or from a signed-in session. A pending
 * sign-in is not a session: until its second step completes nothing can get a token with it.
 * Every POST comes from our own origin with the login form's CSRF token.
 */
@Undocumented('HTML two-step verification pages, for browsers')
@Controller('login/mfa')
export class MfaController {
  private readonly basePath: string;
  private readonly cookieName: string;

  constructor(
    private readonly mfa: MfaService,
    private readonly login: LoginService,
    private readonly throttle: LoginThrottleService,
    private readonly sessions: SessionsService,
    private readonly csrf: LoginCsrfService,
    private readonly tenants: TenantsService,
    private readonly audit: AuditService,
    @InjectConfig('app') private readonly app: Config<'app'>,
  ) {
    this.basePath = basePathOf(app.publicUrl);
    this.cookieName = wireCookieName(MFA_PENDING_COOKIE, app.secureCookies);
  }

  // --- assets ------------------------------------------------------------------------------

  @LoadsSession()
  @Get('assets/webauthn-browser.js')
  browserLib(@Res() res: Response): void {
    res.type('application/javascript').set('Cache-Control', 'public, max-age=3600').send(WEBAUTHN_BROWSER);
  }

  @LoadsSession()
  @Get('assets/mfa.js')
  script(@Res() res: Response): void {
    res.type('application/javascript').set('Cache-Control', 'public, max-age=3600').send(MFA_SCRIPT);
  }

  // --- the second step -----------------------------------------------------------------------

  @LoadsSession()
  @Get()
  async challenge(@Req() req: Request, @Res() res: Response): Promise<void> {
    const pending = await this.pendingOf(req);
    if (!pending) return this.toLogin(res);
    if (pending.purpose === 'enrol') return void res.set('Cache-Control', 'no-store').redirect(303, `${this.basePath}/login/mfa/setup`);
    await this.showChallenge(req, res, pending, 200);
  }

  @LoadsSession()
  @Post()
  async verifyCode(@Req() req: Request, @Res() res: Response): Promise<void> {
    const pending = await this.pendingOf(req);
    if (!pending || pending.purpose !== 'verify') return this.toLogin(res);
    try {
      this.checkForm(req);
      const code = field(req, 'code', 64);
      const user = userOf(pending);
      const method = normalizeRecoveryCode(code) ? 'recovery_code' : 'totp';
      await this.secondStep(req, pending, (meta) => (method === 'totp' ? this.mfa.verifyTotp(meta, user, code) : this.mfa.useRecoveryCode(meta, user, code)));
      await this.complete(req, res, pending, { mfa: method });
      res.redirect(303, pending.next ?? `${this.basePath}/account`);
    } catch (e) {
      if (!(e instanceof Refused)) throw e;
      await this.showChallenge(req, res, pending, e.status, e.message);
    }
  }

  @LoadsSession()
  @Post('passkey/options')
  async passkeyOptions(@Req() req: Request, @Res() res: Response): Promise<void> {
    await this.json(res, async () => {
      const pending = await this.pendingOf(req);
      if (!pending || pending.purpose !== 'verify') throw new Refused(401, 'This sign-in has expired. Sign in again.');
      this.checkForm(req);
      const options = await this.mfa.authenticationOptions(userOf(pending));
      if (!options) throw new Refused(400, 'You have no passkey set up. Use a code instead.');
      return { options };
    });
  }

  @LoadsSession()
  @Post('passkey')
  async passkeyVerify(@Req() req: Request, @Res() res: Response): Promise<void> {
    await this.json(res, async () => {
      const pending = await this.pendingOf(req);
      if (!pending || pending.purpose !== 'verify') throw new Refused(401, 'This sign-in has expired. Sign in again.');
      this.checkForm(req);
      const response = webauthnResponse(req);
      await this.secondStep(req, pending, (meta) => this.mfa.authenticate(meta, userOf(pending), response as never));
      await this.complete(req, res, pending, { mfa: 'passkey' });
      return { redirect: pending.next ?? `${this.basePath}/account` };
    });
  }

  // --- setting factors up --------------------------------------------------------------------

  @LoadsSession()
  @Get('setup')
  async setup(@Req() req: Request, @Res() res: Response, @CurrentSession() session: SessionContext | null): Promise<void> {
    const subject = await this.subjectOf(req, session);
    if (!subject) return this.toLogin(res);
    const q = req.query as Record<string, unknown>;
    const continueTo = subject.kind === 'session' ? (safeLocalPath(q.continue, this.app.publicUrl) ?? undefined) : undefined;
    await this.showSetup(req, res, subject, 200, {
      notice:
        q.done === 'totp'
          ? 'Authenticator app turned on.'
          : q.done === 'passkey'
            ? continueTo
              ? 'Passkey added, and you are signed in. Make your recovery codes now, for a day you cannot use it; then continue.'
              : 'Passkey added.'
            : q.done === 'removed'
              ? 'Removed.'
              : undefined,
      continueTo,
    });
  }

  @LoadsSession()
  @Post('setup/totp')
  async totpStart(@Req() req: Request, @Res() res: Response, @CurrentSession() session: SessionContext | null): Promise<void> {
    const subject = await this.subjectOf(req, session);
    if (!subject) return this.toLogin(res);
    try {
      this.checkForm(req);
      const issuer = await this.issuer(subject.user.tenantId);
      const started = await this.mfa.startTotp(this.meta(req, subject), subject.user, issuer);
      if (!started) throw new Refused(409, 'An authenticator app is already set up. Remove it first to set up another.');
      sendPage(res, 200, totpSetupPage({ basePath: this.basePath, csrf: this.csrf.forLoginForm(req, res), brand: await this.brand(subject), secret: started.secret }));
    } catch (e) {
      if (!(e instanceof Refused)) throw e;
      await this.showSetup(req, res, subject, e.status, { error: e.message });
    }
  }

  /** The QR code of the authenticator being set up (SVG made here: the secret goes to no other service). */
  @LoadsSession()
  @Get('setup/totp/qr.svg')
  async totpQr(@Req() req: Request, @Res() res: Response, @CurrentSession() session: SessionContext | null): Promise<void> {
    const subject = await this.subjectOf(req, session);
    const shown = subject && (await this.mfa.pendingTotp(subject.user, await this.issuer(subject.user.tenantId)));
    if (!shown) return void res.status(404).set('Cache-Control', 'no-store').type('text/plain').send('Nothing is being set up.');
    res.status(200).set('Cache-Control', 'no-store').type('image/svg+xml').send(shown.qrSvg);
  }

  @LoadsSession()
  @Post('setup/totp/confirm')
  async totpConfirm(@Req() req: Request, @Res() res: Response, @CurrentSession() session: SessionContext | null): Promise<void> {
    const subject = await this.subjectOf(req, session);
    if (!subject) return this.toLogin(res);
    try {
      this.checkForm(req);
      const code = field(req, 'code', 12);
      const ok = await this.mfa.confirmTotp(this.meta(req, subject), subject.user, code);
      if (!ok) {
        const again = await this.mfa.pendingTotp(subject.user, await this.issuer(subject.user.tenantId));
        if (!again) throw new Refused(409, 'Nothing is being set up. Start again.');
        return sendPage(res, 400, totpSetupPage({ basePath: this.basePath, csrf: this.csrf.forLoginForm(req, res), brand: await this.brand(subject), secret: again.secret, error: WRONG_CODE }));
      }
      await this.afterEnrolment(req, res, subject, 'totp');
    } catch (e) {
      if (!(e instanceof Refused)) throw e;
      await this.showSetup(req, res, subject, e.status, { error: e.message });
    }
  }

  @LoadsSession()
  @Post('setup/passkey/options')
  async registerOptions(@Req() req: Request, @Res() res: Response, @CurrentSession() session: SessionContext | null): Promise<void> {
    await this.json(res, async () => {
      const subject = await this.subjectOf(req, session);
      if (!subject) throw new Refused(401, 'You are not signed in. Sign in again.');
      this.checkForm(req);
      return { options: await this.mfa.registrationOptions(subject.user, await this.issuer(subject.user.tenantId)) };
    });
  }

  @LoadsSession()
  @Post('setup/passkey')
  async register(@Req() req: Request, @Res() res: Response, @CurrentSession() session: SessionContext | null): Promise<void> {
    await this.json(res, async () => {
      const subject = await this.subjectOf(req, session);
      if (!subject) throw new Refused(401, 'You are not signed in. Sign in again.');
      this.checkForm(req);
      const rawName = (req.body as Record<string, unknown>)?.name;
      const name = typeof rawName === 'string' && rawName.trim() ? rawName.trim().replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 100) : 'Passkey';
      const done = await this.mfa.register(this.meta(req, subject), subject.user, webauthnResponse(req) as never, name);
      if (!done) throw new Refused(400, 'The passkey could not be verified. Try again.');
      if (subject.kind === 'pending') {
        await this.complete(req, res, subject.pending, { mfa: 'enrolled_passkey' });
        // Signed in now. The recovery codes are one click away on the setup page (an
        // authenticator app's enrolment shows them at once: that answer is a page, this one
        // JSON), and from there the person goes on where the sign-in was going (a BI tool's
        // SSO), as after an authenticator app.
        const continueTo = subject.pending.next ?? `${this.basePath}/account`;
        return { redirect: `${this.basePath}/login/mfa/setup?${new URLSearchParams({ done: 'passkey', continue: continueTo })}` };
      }
      return { redirect: `${this.basePath}/login/mfa/setup?done=passkey` };
    });
  }

  @LoadsSession()
  @Post('setup/recovery-codes')
  async recoveryCodes(@Req() req: Request, @Res() res: Response, @CurrentSession() session: SessionContext | null): Promise<void> {
    const subject = await this.subjectOf(req, session);
    if (!subject || subject.kind !== 'session') return this.toLogin(res);
    try {
      this.checkForm(req);
      const codes = await this.mfa.newRecoveryCodes(this.meta(req, subject), subject.user);
      const continueTo = safeLocalPath((req.body as Record<string, unknown> | undefined)?.continue, this.app.publicUrl) ?? `${this.basePath}/login/mfa/setup`;
      sendPage(res, 200, recoveryCodesPage({ brand: await this.brand(subject), codes, continueTo }));
    } catch (e) {
      if (!(e instanceof Refused)) throw e;
      await this.showSetup(req, res, subject, e.status, { error: e.message });
    }
  }

  @LoadsSession()
  @Post('setup/remove')
  async remove(@Req() req: Request, @Res() res: Response, @CurrentSession() session: SessionContext | null): Promise<void> {
    const subject = await this.subjectOf(req, session);
    if (!subject || subject.kind !== 'session') return this.toLogin(res);
    try {
      this.checkForm(req);
      const factor = field(req, 'factor', 1500);
      const state = await this.mfa.state(subject.user.id, subject.user.tenantId);
      if (state.policy === 'required' && (state.totp ? 1 : 0) + state.passkeys.length <= 1) {
        throw new Refused(409, 'Your organization requires a second step: add another one before removing this one.');
      }
      const meta = this.meta(req, subject);
      const removed = factor === 'totp' ? await this.mfa.removeTotp(meta, subject.user) : factor.startsWith('passkey:') ? await this.mfa.removePasskey(meta, subject.user, factor.slice(8)) : false;
      if (!removed) throw new Refused(404, 'That was already removed.');
      res.redirect(303, `${this.basePath}/login/mfa/setup?done=removed`);
    } catch (e) {
      if (!(e instanceof Refused)) throw e;
      await this.showSetup(req, res, subject, e.status, { error: e.message });
    }
  }

  // --- helpers -------------------------------------------------------------------------------

  private toLogin(res: Response): void {
    res.set('Cache-Control', 'no-store').redirect(303, `${this.basePath}/login`);
  }

  private pendingOf(req: Request): Promise<PendingLogin | null> {
    return this.mfa.pending((req.cookies as Record<string, unknown> | undefined)?.[MFA_PENDING_COOKIE]);
  }

  /** A pending sign-in waiting to set a factor up, else the signed-in session. */
  private async subjectOf(req: Request, session: SessionContext | null): Promise<Subject | null> {
    const pending = await this.pendingOf(req);
    if (pending?.purpose === 'enrol') return { kind: 'pending', pending, user: userOf(pending) };
    if (session) return { kind: 'session', session, user: { id: session.user.id, tenantId: session.tenant.id, email: session.user.email } };
    return null;
  }

  /** Our own origin, and the login form's CSRF token (a field, or `_csrf` of a JSON body). */
  private checkForm(req: Request): void {
    if (crossSiteSource(req.headers, this.app.publicUrl)) throw new Refused(403, 'This form was sent from another site. Go back to the page and try again.');
    if (!this.csrf.verifyLoginForm(req, (req.body as Record<string, unknown> | undefined)?.[CSRF_FIELD])) {
      throw new Refused(400, 'This form has expired or was not sent from this page. Please try again.');
    }
  }

  private meta(req: Request, subject: Subject | { pending: PendingLogin }): LoginRequestMeta {
    const userId = 'user' in subject ? subject.user.id : subject.pending.userId;
    return { actor: `user:${userId}`, ip: req.ip ?? null, requestId: typeof req.id === 'string' ? req.id : null, userAgent: req.headers['user-agent'] ?? null };
  }

  /**
   * The second step under the login throttle: reserved first on the IP and the account (a
   * locked account or an IP over its limits is refused before any check), a wrong code is a
   * failure of the account (it counts toward LOGIN_LOCKOUT_THRESHOLD like a wrong password),
   * a right one clears the account's failures.
   */
  private async secondStep(req: Request, pending: PendingLogin, check: (meta: LoginRequestMeta) => Promise<boolean>): Promise<void> {
    const meta = this.meta(req, { pending });
    const ipKey = LoginThrottleService.ipKey(meta.ip);
    const admission = await this.throttle.reserve(pending.accountKey, ipKey);
    if (!admission.admitted) {
      await this.audit.record(meta, { type: 'login.failure', tenantId: pending.tenantId, details: { reason: 'locked', step: 'second_factor', userId: pending.userId, email: pending.email } });
      throw new Refused(429, LOCKED);
    }
    const ok = await check(meta);
    if (ok && (await this.throttle.settleSuccess(pending.accountKey, ipKey))) return;
    const locked = await this.throttle.settleFailure(pending.accountKey);
    await this.audit.record(meta, { type: 'login.failure', tenantId: pending.tenantId, details: { reason: ok ? 'locked' : 'bad_second_factor', userId: pending.userId, email: pending.email } });
    if (locked.justLocked) {
      await this.audit.record(meta, { type: 'login.lockout', tenantId: pending.tenantId, details: { userId: pending.userId, email: pending.email, failures: locked.failures } });
      throw new Refused(429, LOCKED);
    }
    throw new Refused(ok ? 429 : 401, ok ? LOCKED : WRONG_CODE);
  }

  /**
   * The sign-in completes: the pending row is ended and the session opened in one
   * transaction (a second completion of the same pending sign-in finds no row and opens
   * nothing), the session the browser came with revoked.
   */
  private async complete(req: Request, res: Response, pending: PendingLogin, details: Record<string, unknown>): Promise<void> {
    const previous = (req.cookies as Record<string, unknown> | undefined)?.[SESSION_COOKIE];
    const session = await this.login.startSession({ userId: pending.userId, tenantId: pending.tenantId, email: pending.email }, previous, this.meta(req, { pending }), {
      details,
      manager: async (m) => {
        if (!(await this.mfa.endPending(pending.id, m))) throw new Refused(401, 'This sign-in has expired. Sign in again.');
        if (pending.previousSessionId) await this.sessions.revoke(pending.previousSessionId, m);
      },
    });
    this.sessions.setCookie(res, session.token);
    this.clearPendingCookie(res);
    res.set('Cache-Control', 'no-store');
  }

  /** After a factor was set up: a pending sign-in completes; recovery codes are made when there are none yet. */
  private async afterEnrolment(req: Request, res: Response, subject: Subject, factor: 'totp'): Promise<void> {
    const state = await this.mfa.state(subject.user.id, subject.user.tenantId);
    let continueTo = `${this.basePath}/login/mfa/setup?done=${factor}`;
    if (subject.kind === 'pending') {
      await this.complete(req, res, subject.pending, { mfa: `enrolled_${factor}` });
      continueTo = subject.pending.next ?? `${this.basePath}/account`;
    }
    if (state.recoveryCodesLeft === 0) {
      const codes = await this.mfa.newRecoveryCodes(this.meta(req, subject), subject.user);
      return sendPage(res, 200, recoveryCodesPage({ brand: await this.brand(subject), codes, continueTo }));
    }
    res.redirect(303, continueTo);
  }

  private clearPendingCookie(res: Response): void {
    const { maxAge: _maxAge, ...opts } = this.sessions.cookieOptions();
    res.clearCookie(this.cookieName, opts);
  }

  private async showChallenge(req: Request, res: Response, pending: PendingLogin, status: number, error?: string): Promise<void> {
    const state = await this.mfa.state(pending.userId, pending.tenantId);
    const page = mfaChallengePage({
      basePath: this.basePath,
      csrf: this.csrf.forLoginForm(req, res),
      brand: await this.tenants.brandFor({ id: pending.tenantId }),
      email: pending.email,
      totp: state.totp,
      passkeys: state.passkeys.length > 0,
      error,
    });
    this.send(res, status, page);
  }

  private async showSetup(req: Request, res: Response, subject: Subject, status: number, extra: Pick<SetupView, 'error' | 'notice' | 'continueTo'>): Promise<void> {
    const state = await this.mfa.state(subject.user.id, subject.user.tenantId);
    const enrolling = subject.kind === 'pending' && !hasFactor(state);
    this.send(
      res,
      status,
      mfaSetupPage({
        basePath: this.basePath,
        csrf: this.csrf.forLoginForm(req, res),
        brand: await this.brand(subject),
        email: subject.user.email,
        enrolling,
        policy: state.policy,
        totp: state.totp,
        passkeys: state.passkeys,
        recoveryCodesLeft: state.recoveryCodesLeft,
        ...extra,
      }),
    );
  }

  private send(res: Response, status: number, page: Page): void {
    if (status === 429) res.setHeader('Retry-After', '60');
    sendPage(res, status, page);
  }

  private brand(subject: Subject) {
    return this.tenants.brandFor({ id: subject.user.tenantId });
  }

  /** What authenticator apps and passkey prompts show: the tenant's display name. */
  private async issuer(tenantId: string): Promise<string> {
    return (await this.tenants.brandFor({ id: tenantId }))?.name ?? 'embed-idp';
  }

  private async json(res: Response, run: () => Promise<object>): Promise<void> {
    res.set('Cache-Control', 'no-store');
    try {
      res.status(200).json(await run());
    } catch (e) {
      if (!(e instanceof Refused)) throw e;
      if (e.status === 429) res.setHeader('Retry-After', '60');
      res.status(e.status).json({ message: e.message });
    }
  }
}

/** The pending sign-in's cookie: the session cookie's attributes, for as long as the pending row lives. */
export function setPendingCookie(res: Response, sessions: SessionsService, secure: boolean, token: string): void {
  const { maxAge: _maxAge, ...opts } = sessions.cookieOptions();
  res.cookie(wireCookieName(MFA_PENDING_COOKIE, secure), token, { ...opts, maxAge: PENDING_SECONDS * 1000 });
}

function userOf(p: PendingLogin): MfaUser {
  return { id: p.userId, tenantId: p.tenantId, email: p.email };
}

/** A form field as one string of at most `max` characters, else a 400 in words. */
function field(req: Request, name: string, max: number): string {
  const v = (req.body as Record<string, unknown> | undefined)?.[name];
  if (typeof v !== 'string' || !v.trim()) throw new Refused(400, 'Enter the code.');
  if (v.length > max) throw new Refused(400, 'That is too long to be a code. Check it and try again.');
  return v.trim();
}

/** The browser's WebAuthn answer: an object of bounded size (the library checks every field). */
function webauthnResponse(req: Request): Record<string, unknown> {
  const r = (req.body as Record<string, unknown> | undefined)?.response;
  if (typeof r !== 'object' || r === null || Array.isArray(r) || JSON.stringify(r).length > 32_768) {
    throw new Refused(400, 'The passkey answer was missing or malformed. Try again.');
  }
  return r as Record<string, unknown>;
}
