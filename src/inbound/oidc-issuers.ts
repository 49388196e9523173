import { Injectable } from '@nestjs/common';
import { createRemoteJWKSet, customFetch, errors, jwtVerify, JWTPayload, JWTVerifyGetKey } from 'jose';
import { OutboundGuard } from '../catalog/outbound';
import { InjectConfig } from '../config/config.module';
import { Config } from '../config/configuration';
import type { HandoffRefusal } from './handoff.errors';
import type { Checked } from './inbound-source';

/**
 * Asymmetric JWS algorithms (RFC 7518 §3.1, RFC 8037). A token from an OIDC issuer is verified
 * with the issuer's published public keys: a symmetric algorithm would make the public key a
 * shared secret (the "HS256 with the public key" confusion, RFC 8725 §2.1), and `none` signs
 * nothing. Neither is ever accepted, whatever an operator configures.
 */
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;

/** Waiting longer for an issuer's discovery document or keys would hold the visitor's request. */
export const ISSUER_FETCH_TIMEOUT_MS = 5000;
/** An unknown kid refetches the JWKS at most this often (key rotation; never per request). */
export const JWKS_COOLDOWN_MS = 30_000;
/** Keys and discovery are refreshed this often even with no unknown kid (a removed key stops verifying). */
export const JWKS_MAX_AGE_MS = 10 * 60_000;
export const DISCOVERY_MAX_AGE_MS = 60 * 60_000;
/** After a failed fetch the issuer is not asked again for this long (a broken issuer is not hammered). */
export const FAILED_FETCH_BACKOFF_MS = 10_000;
/** iat/nbf/exp skew tolerated, as for the HS256 assertion. */
export const CLOCK_SKEW_SECONDS = 60;

/** The discovery fields this service reads (OpenID Connect Discovery 1.0 §3). */
export interface IssuerMetadata {
  issuer: string;
  jwks_uri: string;
  authorization_endpoint?: string;
  token_endpoint?: string;
  end_session_endpoint?: string;
}

export class IssuerUnavailable extends Error {}

/**
 * Why an issuer's URL (or a URL its discovery document names) cannot be used; null when fine.
 * https only (OpenID Connect Discovery §4: the issuer is an https URL), except a loopback http
 * URL outside production (the suite's and a developer's own provider).
 */
export function issuerUrlProblem(raw: string, production: boolean): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not a URL';
  }
  if (url.search || url.hash) return 'must have no query or fragment';
  if (url.username || url.password) return 'must not carry credentials';
  if (url.protocol === 'https:') return null;
  const loopback = ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
  if (url.protocol === 'http:' && loopback && !production) return null;
  return production ? 'must be an https URL' : 'must be an https URL (or http on loopback outside production)';
}

interface IssuerEntry {
  metadata: IssuerMetadata;
  keys: JWTVerifyGetKey;
  discoveredAt: number;
}

/**
 * OIDC issuers' discovery documents and key sets, per issuer, shared by every process's
 * requests: fetched through the outbound guard (its 1 MB answer limit, no redirects, and in
 * production no private addresses), with a timeout; keys by kid through jose's remote JWKS
 * (refetched on an unknown kid at most once per JWKS_COOLDOWN_MS). `fetches` counts requests
 * sent to issuers (discovery and JWKS), for the benchmark.
 */
@Injectable()
export class OidcIssuers {
  private readonly entries = new Map<string, IssuerEntry>();
  private readonly pending = new Map<string, Promise<IssuerEntry>>();
  private readonly failedAt = new Map<string, number>();
  fetches = 0;
  private readonly production: boolean;

  constructor(
    private readonly outbound: OutboundGuard,
    @InjectConfig('app') app: Config<'app'>,
  ) {
    this.production = app.nodeEnv === 'production';
  }

  /** A fetch bounded in time and size whose failures hold the issuer off for FAILED_FETCH_BACKOFF_MS. */
  private readonly boundedFetch = async (url: string, init: { signal?: AbortSignal; headers?: Headers | Record<string, string> } = {}): Promise<Response> => {
    const origin = new URL(url).origin;
    const failed = this.failedAt.get(origin);
    if (failed !== undefined && Date.now() - failed < FAILED_FETCH_BACKOFF_MS) throw new IssuerUnavailable(`${origin} failed less than ${FAILED_FETCH_BACKOFF_MS / 1000} s ago`);
    this.fetches++;
    try {
      const res = await this.outbound.fetch(url, { headers: init.headers, signal: init.signal ?? AbortSignal.timeout(ISSUER_FETCH_TIMEOUT_MS) });
      if (res.status !== 200) throw new IssuerUnavailable(`${url} answered ${res.status}`);
      this.failedAt.delete(origin);
      return res;
    } catch (e) {
      this.failedAt.set(origin, Date.now());
      throw e instanceof IssuerUnavailable ? e : new IssuerUnavailable(`${url}: ${(e as Error).message}`);
    }
  };

  /** The issuer's discovery document (cached DISCOVERY_MAX_AGE_MS) and key set. */
  async entry(issuer: string): Promise<IssuerEntry> {
    const hit = this.entries.get(issuer);
    if (hit && Date.now() - hit.discoveredAt < DISCOVERY_MAX_AGE_MS) return hit;
    const inFlight = this.pending.get(issuer);
    if (inFlight) return inFlight;
    const p = this.discover(issuer).finally(() => this.pending.delete(issuer));
    this.pending.set(issuer, p);
    return p;
  }

  async metadata(issuer: string): Promise<IssuerMetadata> {
    return (await this.entry(issuer)).metadata;
  }

  private async discover(issuer: string): Promise<IssuerEntry> {
    const problem = issuerUrlProblem(issuer, this.production);
    if (problem) throw new IssuerUnavailable(`issuer ${problem}`);
    // OpenID Connect Discovery §4: the issuer with its trailing slash removed, then the path.
    const res = await this.boundedFetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
    let doc: Partial<IssuerMetadata>;
    try {
      doc = (await res.json()) as Partial<IssuerMetadata>;
    } catch {
      throw new IssuerUnavailable('the discovery document is not JSON');
    }
    // §4.3: the issuer in the document must be exactly the one it was fetched for.
    if (doc?.issuer !== issuer) throw new IssuerUnavailable(`the discovery document names another issuer (${String(doc?.issuer).slice(0, 200)})`);
    if (typeof doc.jwks_uri !== 'string') throw new IssuerUnavailable('the discovery document has no jwks_uri');
    const jwksProblem = issuerUrlProblem(doc.jwks_uri, this.production);
    if (jwksProblem) throw new IssuerUnavailable(`jwks_uri ${jwksProblem}`);
    const keys = createRemoteJWKSet(new URL(doc.jwks_uri), {
      timeoutDuration: ISSUER_FETCH_TIMEOUT_MS,
      cooldownDuration: JWKS_COOLDOWN_MS,
      cacheMaxAge: JWKS_MAX_AGE_MS,
      [customFetch]: (url, init) => this.boundedFetch(url, init),
    });
    const entry = { metadata: doc as IssuerMetadata, keys, discoveredAt: Date.now() };
    this.entries.set(issuer, entry);
    return entry;
  }

  /**
   * The token verified as OpenID Connect Core §3.1.3.7 asks: an allowed asymmetric algorithm
   * (checked before any key is fetched), the issuer's key by kid, `iss` exactly, `aud`
   * containing the audience, exp/nbf/iat with CLOCK_SKEW_SECONDS, and the age of `auth_time`
   * (else `iat`) at most maxAgeSeconds. Every failure is its own refusal for the audit.
   */
  async verify(
    token: string,
    header: Record<string, unknown>,
    expected: { issuer: string; audience: string; algorithms: readonly string[]; maxAgeSeconds: number },
    now: number,
  ): Promise<Checked<JWTPayload>> {
    const allowed = expected.algorithms.filter((a) => (ASYMMETRIC_ALGORITHMS as readonly string[]).includes(a));
    if (typeof header.alg !== 'string' || !allowed.includes(header.alg)) {
      return { ok: false, reason: 'algorithm_not_allowed', detail: { alg: String(header.alg).slice(0, 20), allowed } };
    }
    // RFC 7515 §4.1.11: we implement no critical header extension, so any crit is refused.
    if (Object.prototype.hasOwnProperty.call(header, 'crit')) return { ok: false, reason: 'unsupported_crit' };
    let keys: JWTVerifyGetKey;
    try {
      keys = (await this.entry(expected.issuer)).keys;
    } catch (e) {
      return { ok: false, reason: 'issuer_unavailable', detail: { issuer: expected.issuer, error: (e as Error).message.slice(0, 300) } };
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        algorithms: allowed,
        issuer: expected.issuer,
        audience: expected.audience,
        clockTolerance: CLOCK_SKEW_SECONDS,
        currentDate: new Date(now * 1000),
        requiredClaims: ['exp', 'iat'],
      }));
    } catch (e) {
      return refusalOf(e);
    }
    const iat = payload.iat!;
    if (iat > now + CLOCK_SKEW_SECONDS) return { ok: false, reason: 'iat_in_future', detail: { iat, now } };
    const authTime = typeof payload.auth_time === 'number' ? payload.auth_time : iat;
    if (now - authTime > expected.maxAgeSeconds) return { ok: false, reason: 'token_too_old', detail: { authTime, now, maxAgeSeconds: expected.maxAgeSeconds } };
    return { ok: true, value: payload };
  }
}

function refusalOf(e: unknown): { ok: false; reason: HandoffRefusal; detail?: Record<string, unknown> } {
  if (e instanceof errors.JWKSNoMatchingKey || e instanceof errors.JWKSMultipleMatchingKeys) return { ok: false, reason: 'unknown_kid' };
  if (e instanceof errors.JWKSTimeout || e instanceof IssuerUnavailable) return { ok: false, reason: 'issuer_unavailable', detail: { error: (e as Error).message.slice(0, 300) } };
  if (e instanceof errors.JWKSInvalid) return { ok: false, reason: 'issuer_unavailable', detail: { error: 'the JWKS is not a valid key set' } };
  if (e instanceof errors.JWSSignatureVerificationFailed) return { ok: false, reason: 'bad_signature' };
  if (e instanceof errors.JOSEAlgNotAllowed) return { ok: false, reason: 'algorithm_not_allowed' };
  if (e instanceof errors.JWTExpired) return { ok: false, reason: 'assertion_expired', detail: { exp: e.payload.exp } };
  if (e instanceof errors.JWTClaimValidationFailed) {
    if (e.claim === 'iss') return { ok: false, reason: 'wrong_issuer', detail: { iss: String(e.payload.iss).slice(0, 200) } };
    if (e.claim === 'aud') return { ok: false, reason: 'wrong_audience', detail: { aud: JSON.stringify(e.payload.aud ?? null).slice(0, 200) } };
    if (e.claim === 'nbf') return { ok: false, reason: 'assertion_not_yet_valid', detail: { nbf: e.payload.nbf } };
    return { ok: false, reason: 'invalid_times', detail: { claim: e.claim } };
  }
  // RFC 7515 §4.1.11: jose refuses a crit it does not implement (checked before, so here: an
  // algorithm or key type it cannot use).
  if (e instanceof errors.JOSENotSupported) return { ok: false, reason: 'algorithm_not_allowed' };
  if (e instanceof errors.JWSInvalid || e instanceof errors.JWTInvalid) return { ok: false, reason: 'assertion_malformed' };
  if (e instanceof Error && /fetch|abort|timeout|too large/i.test(e.message)) return { ok: false, reason: 'issuer_unavailable', detail: { error: e.message.slice(0, 300) } };
  throw e;
}
