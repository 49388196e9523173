import { Body, Controller, Get, Post, Query, Req, Res } from '@nestjs/common';
import type { Response } from 'express';
import { decodeProtectedHeader } from 'jose';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { AuditService } from '../../audit/audit.service';
import type { AuthenticatedRequest } from '../../auth/auth.decorators';
import { SessionsService } from '../../auth/sessions.service';
import { DomainError } from '../../common/errors';
import { html } from '../../common/html';
import { renderPage, sendPage } from '../../common/look';
import { Undocumented } from '../../common/openapi';
import { basePathOf, safeLocalPath } from '../../common/redirects';
import { Public, SESSION_COOKIE } from '../../common/route-protection';
import { InjectConfig } from '../../config/config.module';
import { Config } from '../../config/configuration';
import { SecretBox } from '../../crypto/secret-box';
import { normaliseEmail } from '../../common/identifiers';
import { IdentitiesService } from '../../identities/identities.service';
import { TenantsService } from '../../tenants/tenants.service';
import { HandoffService } from '../handoff.service';
import { handoffMeta } from '../handoff-request';
import { ASYMMETRIC_ALGORITHMS, ISSUER_FETCH_TIMEOUT_MS, OidcIssuers } from '../oidc-issuers';
import { OutboundGuard } from '../../catalog/outbound';
import { claimAt, groupsFrom } from '../claim-path';
import { UpstreamProvidersService } from './upstream-providers.service';


/** The state cookie: bound to this browser, sealed, 10 minutes (time enough to sign in at the IdP). */
const STATE_COOKIE = 'eidp_oidc_state';
const STATE_LIFETIME_MS = 10 * 60_000;
const STATE_CONTEXT = 'upstream-oidc-state';
/** An upstream ID token older than this at the callback is refused (it was just issued). */
const MAX_ID_TOKEN_AGE_SECONDS = 600;

interface PendingSignIn {
  state: string;
  nonce: string;
  verifier: string;
  tenantId: string;
  next: string | null;
  exp: number;
}

export const UPSTREAM_REFUSALS = {
  upstream_state_mismatch: [400, 'This sign-in was not started in this browser, or took too long; start again'],
  upstream_error: [401, 'Your organization\'s identity provider did not sign you in'],
  upstream_code_rejected: [401, 'Your organization\'s identity provider refused this sign-in (a link used twice?); start again'],
  upstream_nonce_mismatch: [401, 'The identity provider\'s answer does not belong to this sign-in; start again'],
  upstream_token_invalid: [401, 'The identity provider\'s ID token could not be verified; start again'],
  upstream_unavailable: [503, 'Your organization\'s identity provider could not be reached; try again shortly'],
} as const satisfies Record<string, readonly [number, string]>;
type UpstreamRefusal = keyof typeof UPSTREAM_REFUSALS;

const b64url = (b: Buffer) => b.toString('base64url');

/**
 * Company sign-in (README, "Company sign-in"): the email first; an email in a domain a tenant
 * owns, when that tenant has its own OpenID Connect provider, goes there (authorization code
 * with PKCE S256, state and nonce: OpenID Connect Core §3.1, RFC 7636, RFC 9700 §2.1); the
 * callback verifies the ID token (the trusted-issuer rules, plus the nonce), opens our session
 * through the hand-off's sign-in (JIT, groups, ownership, once per ID token) and continues
 * where a password login would.
 */
@Undocumented('browser sign-in at the organization\'s identity provider (redirects), refusals as HTML pages')
@Controller('login/company')
export class UpstreamLoginController {
  private readonly basePath: string;
  private readonly production: boolean;

  constructor(
    private readonly providers: UpstreamProvidersService,
    private readonly identities: IdentitiesService,
    private readonly tenants: TenantsService,
    private readonly oidc: OidcIssuers,
    private readonly outbound: OutboundGuard,
    private readonly handoff: HandoffService,
    private readonly sessions: SessionsService,
    private readonly box: SecretBox,
    private readonly audit: AuditService,
    @InjectConfig('app') private readonly app: Config<'app'>,
  ) {
    this.basePath = basePathOf(app.publicUrl);
    this.production = app.nodeEnv === 'production';
  }

  private get callbackUrl(): string {
    return `${this.app.publicUrl.replace(/\/$/, '')}/login/company/callback`;
  }

  @Public()
  @Get()
  showForm(@Query('next') next: unknown, @Res() res: Response): void {
    this.page(res, 200, { next: safeLocalPath(next, this.app.publicUrl), email: '' });
  }

  @Public()
  @Post()
  async start(@Req() req: AuthenticatedRequest, @Body() body: Record<string, unknown>, @Res() res: Response): Promise<void> {
    const next = safeLocalPath(body?.next, this.app.publicUrl);
    const email = typeof body?.email === 'string' ? normaliseEmail(body.email.slice(0, 254)) : '';
    const passwordForm = `${this.basePath}/login?${new URLSearchParams({ email, ...(next ? { next } : {}) })}`;
    if (!/^[^@\s]+@[^@\s]+$/.test(email)) return this.page(res, 400, { next, email, error: 'Enter your work email address.' });
    const tenantId = await this.identities.tenantOwningEmail(email);
    const provider = tenantId ? await this.providers.find(tenantId) : null;
    // Home-realm discovery: a domain no tenant with its own IdP owns goes to the password form.
    if (!provider) return void res.redirect(303, passwordForm);
    let authorize: string | undefined;
    try {
      authorize = (await this.oidc.metadata(provider.issuer)).authorization_endpoint;
    } catch {
      authorize = undefined;
    }
    if (!authorize || !this.urlOk(authorize)) return this.refuse(req, res, 'upstream_unavailable', provider.tenantId, { issuer: provider.issuer });
    const pending: PendingSignIn = {
      state: b64url(randomBytes(32)),
      nonce: b64url(randomBytes(32)),
      verifier: b64url(randomBytes(32)),
      tenantId: provider.tenantId,
      next,
      exp: Date.now() + STATE_LIFETIME_MS,
    };
    // SameSite=Lax: sent on the IdP's top-level redirect back to the callback, not on cross-site subrequests.
    res.cookie(STATE_COOKIE, this.box.seal(JSON.stringify(pending), STATE_CONTEXT), {
      httpOnly: true,
      secure: this.app.secureCookies,
      sameSite: 'lax',
      path: `${this.basePath}/login/company`,
      maxAge: STATE_LIFETIME_MS,
    });
    const url = new URL(authorize);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: provider.clientId,
      redirect_uri: this.callbackUrl,
      scope: 'openid email profile',
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: b64url(createHash('sha256').update(pending.verifier).digest()),
      code_challenge_method: 'S256',
      login_hint: email,
    }).toString();
    res.set('Cache-Control', 'no-store').redirect(303, url.toString());
  }

  @Public()
  @Get('callback')
  async callback(@Req() req: AuthenticatedRequest, @Res() res: Response): Promise<void> {
    const q = req.query as Record<string, unknown>;
    const pending = this.pendingOf(req.cookies?.[STATE_COOKIE]);
    // Spent with this answer, whatever it is: a second use of the same callback finds no state.
    res.clearCookie(STATE_COOKIE, { path: `${this.basePath}/login/company`, httpOnly: true, secure: this.app.secureCookies, sameSite: 'lax' });
    if (!pending || typeof q.state !== 'string' || !sameText(q.state, pending.state)) {
      return this.refuse(req, res, 'upstream_state_mismatch', pending?.tenantId ?? null, {});
    }
    if (typeof q.error === 'string' || typeof q.code !== 'string') {
      return this.refuse(req, res, 'upstream_error', pending.tenantId, { error: String(q.error ?? 'no code').slice(0, 100) });
    }
    const provider = await this.providers.find(pending.tenantId);
    if (!provider) return this.refuse(req, res, 'upstream_error', pending.tenantId, { error: 'provider removed' });
    let tokenEndpoint: string | undefined;
    try {
      tokenEndpoint = (await this.oidc.metadata(provider.issuer)).token_endpoint;
    } catch {
      tokenEndpoint = undefined;
    }
    if (!tokenEndpoint || !this.urlOk(tokenEndpoint)) return this.refuse(req, res, 'upstream_unavailable', provider.tenantId, {});
    let idToken: unknown;
    try {
      const answer = await this.outbound.fetch(tokenEndpoint, {
        method: 'POST',
        signal: AbortSignal.timeout(ISSUER_FETCH_TIMEOUT_MS),
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          // RFC 6749 §2.3.1: client_secret_basic, each part form-encoded.
          authorization: `Basic ${Buffer.from(`${encodeURIComponent(provider.clientId)}:${encodeURIComponent(this.providers.clientSecret(provider))}`).toString('base64')}`,
        },
        body: new URLSearchParams({ grant_type: 'authorization_code', code: q.code, redirect_uri: this.callbackUrl, code_verifier: pending.verifier }).toString(),
      });
      if (answer.status === 400 || answer.status === 401) return this.refuse(req, res, 'upstream_code_rejected', provider.tenantId, { status: answer.status });
      if (answer.status !== 200) return this.refuse(req, res, 'upstream_unavailable', provider.tenantId, { status: answer.status });
      idToken = ((await answer.json()) as { id_token?: unknown }).id_token;
    } catch (e) {
      return this.refuse(req, res, 'upstream_unavailable', provider.tenantId, { error: (e as Error).message.slice(0, 200) });
    }
    if (typeof idToken !== 'string') return this.refuse(req, res, 'upstream_token_invalid', provider.tenantId, { error: 'no id_token' });
    let header: Record<string, unknown>;
    try {
      header = decodeProtectedHeader(idToken) as Record<string, unknown>;
    } catch {
      return this.refuse(req, res, 'upstream_token_invalid', provider.tenantId, { error: 'malformed' });
    }
    const now = Math.floor(Date.now() / 1000);
    const verified = await this.oidc.verify(
      idToken,
      header,
      { issuer: provider.issuer, audience: provider.clientId, algorithms: ASYMMETRIC_ALGORITHMS, maxAgeSeconds: MAX_ID_TOKEN_AGE_SECONDS },
      now,
    );
    if (!verified.ok) return this.refuse(req, res, 'upstream_token_invalid', provider.tenantId, { reason: verified.reason, ...verified.detail });
    const claims = verified.value as Record<string, unknown>;
    // OpenID Connect Core §3.1.3.7 (11): the nonce sent must come back in the ID token.
    if (typeof claims.nonce !== 'string' || !sameText(claims.nonce, pending.nonce)) {
      return this.refuse(req, res, 'upstream_nonce_mismatch', provider.tenantId, {});
    }
    if (claims.email_verified === false) return this.refuse(req, res, 'upstream_token_invalid', provider.tenantId, { reason: 'email_not_verified' });
    const tenant = await this.tenants.findById(provider.tenantId);
    const email = typeof claims.email === 'string' ? normaliseEmail(claims.email) : undefined;
    const result = await this.handoff.signIn(
      { meta: handoffMeta(req), previousCookie: req.cookies?.[SESSION_COOKIE] },
      tenant,
      'oidc_upstream',
      {
        onceKey: `upstream:${createHash('sha256').update(idToken).digest('hex')}`,
        jti: typeof claims.jti === 'string' ? claims.jti.slice(0, 200) : 'id_token',
        exp: Math.min((claims.exp as number) + 60, now + MAX_ID_TOKEN_AGE_SECONDS),
        profile: {
          email,
          firstName: claims.given_name,
          lastName: claims.family_name,
          groups: provider.claimGroups ? groupsFrom(claimAt(claims, provider.claimGroups)) : undefined,
        },
        jitProvisioning: provider.jitProvisioning,
        syncGroups: provider.syncGroups,
      },
    );
    this.sessions.setCookie(res, result.token);
    res.set('Cache-Control', 'no-store').redirect(303, pending.next ?? `${this.basePath}/account`);
  }

  private urlOk(url: string): boolean {
    try {
      const u = new URL(url);
      return u.protocol === 'https:' || (u.protocol === 'http:' && !this.production && ['127.0.0.1', '[::1]', 'localhost'].includes(u.hostname));
    } catch {
      return false;
    }
  }

  private pendingOf(cookie: unknown): PendingSignIn | null {
    if (typeof cookie !== 'string' || cookie.length > 4096) return null;
    try {
      const p = JSON.parse(this.box.open(cookie, STATE_CONTEXT)) as PendingSignIn;
      return p.exp > Date.now() ? p : null;
    } catch {
      return null;
    }
  }

  private async refuse(req: AuthenticatedRequest, _res: Response, reason: UpstreamRefusal, tenantId: string | null, details: Record<string, unknown>): Promise<never> {
    await this.audit.recordRefusal(handoffMeta(req), { type: 'login.upstream_denied', tenantId, details: { reason, ...details } });
    const [status, message] = UPSTREAM_REFUSALS[reason];
    throw new DomainError(reason, status, message);
  }

  private page(res: Response, status: number, v: { next: string | null; email: string; error?: string }): void {
    sendPage(
      res,
      status,
      renderPage({
        title: 'Sign in with your organization',
        main: html`<h1>Sign in</h1>
<p>Enter your work email: if your organization signs you in with its own identity provider, you go there; otherwise to the password form.</p>
${v.error && html`<div class="alert" role="alert" id="form-error">${v.error}</div>`}
<form method="post" action="${this.basePath}/login/company">
${v.next && html`<input type="hidden" name="next" value="${v.next}">`}
<label for="email">Work email</label>
<input id="email" name="email" type="email" autocomplete="username" autocapitalize="none" spellcheck="false" maxlength="254" required autofocus value="${v.email}">
<button type="submit">Continue</button>
</form>
<p><a href="${this.basePath}/login${v.next ? `?next=${encodeURIComponent(v.next)}` : ''}">Sign in with a password instead</a></p>`,
      }),
    );
  }
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
