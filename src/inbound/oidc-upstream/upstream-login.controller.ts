import { Controller, Get, Req, Res } from '@nestjs/common';
import type { Response } from 'express';
import { decodeProtectedHeader } from 'jose';
import { createHash, timingSafeEqual } from 'node:crypto';
import { AuditService } from '../../audit/audit.service';
import type { AuthenticatedRequest } from '../../auth/auth.decorators';
import { SessionsService } from '../../auth/sessions.service';
import { Undocumented } from '../../common/openapi';
import { basePathOf } from '../../common/redirects';
import { Public, SESSION_COOKIE } from '../../common/route-protection';
import { InjectConfig } from '../../config/config.module';
import { Config } from '../../config/configuration';
import { SecretBox } from '../../crypto/secret-box';
import { normaliseEmail } from '../../common/identifiers';
import { TenantsService } from '../../tenants/tenants.service';
import { HandoffService } from '../handoff.service';
import { handoffMeta } from '../handoff-request';
import { ASYMMETRIC_ALGORITHMS, ISSUER_FETCH_TIMEOUT_MS, OidcIssuers } from '../oidc-issuers';
import { OutboundGuard } from '../../catalog/outbound';
import { claimAt, groupsFrom } from '../claim-path';
import { UpstreamProvidersService } from './upstream-providers.service';
import { PendingSignIn, refuseUpstream, STATE_CONTEXT, STATE_COOKIE, UpstreamRefusal, UpstreamSignInSource } from './upstream.source';

/** An upstream ID token older than this at the callback is refused (it was just issued). */
const MAX_ID_TOKEN_AGE_SECONDS = 600;

/**
 * The end of company sign-in at the tenant's own OpenID Connect provider (README, "Company
 * sign-in"; started by home-realm discovery, UpstreamSignInSource): the callback checks the
 * state, exchanges the code (with the PKCE verifier), verifies the ID token (the trusted-issuer
 * rules, plus the nonce), opens our session through the hand-off's sign-in (JIT, groups,
 * ownership, once per ID token) and continues where a password login would.
 */
@Undocumented('browser sign-in at the organization\'s identity provider (redirects), refusals as HTML pages')
@Controller('login/company')
export class UpstreamLoginController {
  private readonly basePath: string;

  constructor(
    private readonly providers: UpstreamProvidersService,
    private readonly start: UpstreamSignInSource,
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
    if (!tokenEndpoint || !this.start.urlOk(tokenEndpoint)) return this.refuse(req, res, 'upstream_unavailable', provider.tenantId, {});
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
        body: new URLSearchParams({ grant_type: 'authorization_code', code: q.code, redirect_uri: this.start.callbackUrl, code_verifier: pending.verifier }).toString(),
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
      this.start.source,
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
      'login',
    );
    this.sessions.setCookie(res, result.token);
    res.set('Cache-Control', 'no-store').redirect(303, pending.next ?? `${this.basePath}/account`);
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

  private refuse(req: AuthenticatedRequest, _res: Response, reason: UpstreamRefusal, tenantId: string | null, details: Record<string, unknown>): Promise<never> {
    return refuseUpstream(this.audit, req, reason, tenantId, details);
  }
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
