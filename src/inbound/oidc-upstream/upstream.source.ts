import { Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { createHash, randomBytes } from 'node:crypto';
import { AuditService } from '../../audit/audit.service';
import type { AuthenticatedRequest } from '../../auth/auth.decorators';
import { DomainError } from '../../common/errors';
import { basePathOf } from '../../common/redirects';
import { InjectConfig } from '../../config/config.module';
import { Config } from '../../config/configuration';
import { SecretBox } from '../../crypto/secret-box';
import { handoffMeta } from '../handoff-request';
import type { SignInSource } from '../inbound-source';
import { OidcIssuers } from '../oidc-issuers';
import { UpstreamProvidersService } from './upstream-providers.service';

/** The state cookie: bound to this browser, sealed, 10 minutes (time enough to sign in at the IdP). */
export const STATE_COOKIE = 'eidp_oidc_state';
export const STATE_LIFETIME_MS = 10 * 60_000;
export const STATE_CONTEXT = 'upstream-oidc-state';

/** What the callback needs of the sign-in it ends, kept sealed in the state cookie. */
export interface PendingSignIn {
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
export type UpstreamRefusal = keyof typeof UPSTREAM_REFUSALS;

/** Audited (within the anonymous-refusal budget: anyone can start or end a sign-in), then thrown as the visitor's error. */
export async function refuseUpstream(audit: AuditService, req: Request, reason: UpstreamRefusal, tenantId: string | null, details: Record<string, unknown>): Promise<never> {
  await audit.recordRefusal(handoffMeta(req as AuthenticatedRequest), { type: 'login.upstream_denied', tenantId, details: { reason, ...details } });
  const [status, message] = UPSTREAM_REFUSALS[reason];
  throw new DomainError(reason, status, message);
}

const b64url = (b: Buffer) => b.toString('base64url');

/**
 * Company sign-in at the tenant's own OpenID Connect provider, as home-realm discovery starts
 * it: an email whose domain the tenant owns, when the tenant has a provider, goes to its
 * authorization endpoint (authorization code with PKCE S256, state and nonce: OpenID Connect
 * Core §3.1, RFC 7636, RFC 9700 §2.1). The callback is UpstreamLoginController's.
 */
@Injectable()
export class UpstreamSignInSource implements SignInSource {
  readonly source = 'oidc_upstream';
  private readonly basePath: string;
  private readonly production: boolean;

  constructor(
    private readonly providers: UpstreamProvidersService,
    private readonly oidc: OidcIssuers,
    private readonly box: SecretBox,
    private readonly audit: AuditService,
    @InjectConfig('app') private readonly app: Config<'app'>,
  ) {
    this.basePath = basePathOf(app.publicUrl);
    this.production = app.nodeEnv === 'production';
  }

  /** The redirect URI registered at the IdP. */
  get callbackUrl(): string {
    return `${this.app.publicUrl.replace(/\/$/, '')}/login/company/callback`;
  }

  hasProvider(tenantId: string): Promise<boolean> {
    return this.providers.hasProvider(tenantId);
  }

  endSession(tenantId: string): Promise<{ url: string; name: string } | null> {
    return this.providers.endSession(tenantId);
  }

  async begin(who: { email: string; tenantId: string | null; next: string | null }, req: Request, res: Response): Promise<string | null> {
    const provider = who.tenantId ? await this.providers.find(who.tenantId) : null;
    if (!provider) return null;
    let authorize: string | undefined;
    try {
      authorize = (await this.oidc.metadata(provider.issuer)).authorization_endpoint;
    } catch {
      authorize = undefined;
    }
    if (!authorize || !this.urlOk(authorize)) return refuseUpstream(this.audit, req, 'upstream_unavailable', provider.tenantId, { issuer: provider.issuer });
    const pending: PendingSignIn = {
      state: b64url(randomBytes(32)),
      nonce: b64url(randomBytes(32)),
      verifier: b64url(randomBytes(32)),
      tenantId: provider.tenantId,
      next: who.next,
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
      login_hint: who.email,
    }).toString();
    return url.toString();
  }

  /** An endpoint the discovery document names: https, or http on loopback outside production. */
  urlOk(url: string): boolean {
    try {
      const u = new URL(url);
      return u.protocol === 'https:' || (u.protocol === 'http:' && !this.production && ['127.0.0.1', '[::1]', 'localhost'].includes(u.hostname));
    } catch {
      return false;
    }
  }
}
