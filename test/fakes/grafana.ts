import express, { Request, Response } from 'express';
import jwt from 'jsonwebtoken';
import { createPublicKey, randomBytes, type JsonWebKeyInput, type KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';

/**
 * A fake Grafana with `[auth.jwt]` as the README's Grafana section sets it up: `url_login =
 * true`, `jwk_set_url` = our JWKS, verified with jsonwebtoken (an independent JWT library;
 * the JWKs are turned into keys with Node's own crypto, not jose).
 *
 * The JWKS is fetched on first use and kept `cacheTtlMs` (Grafana's `cache_ttl`, 60 min by
 * default) on the fake's clock: a token whose kid is not in the cached set is refused until
 * the cache expires, as Grafana does — so a key that signs before verifiers have fetched it
 * fails a sign-in.
 *
 *   GET <path>?auth_token=<jwt>   verifies; accepted: a session (cookie) and 302 to <path>
 *                                 without auth_token; refused: 401 {reason}
 *   GET <path>                    with the fake's session: 200 {path, user}; without: 401
 *
 * It refuses: alg other than RS256/ES256 (HS256 with the public key as secret, none); no kid,
 * or a kid not in the cached JWKS; a JWK whose alg differs from the header's; a bad signature;
 * no exp or an exp passed; no iat or one in the future; no sub; no login or email claim; a
 * role claim that is not a Grafana role; a claim other than `expectClaims` says (`expect_claims`).
 */
export interface FakeGrafanaOptions {
  jwksUrl: string;
  cacheTtlMs?: number;
  /** The fake's clock in ms (for the JWKS cache); token times use the real clock in seconds. */
  now?: () => number;
  emailClaim?: string;
  loginClaim?: string;
  roleClaim?: string;
  /**
   * Grafana's `expect_claims` (JSON): each claim must equal the value; `aud` may be a string or
   * a list of which the token's audience must contain one (go-jose's AnyAudience).
   */
  expectClaims?: Record<string, string | string[]>;
}

export interface GrafanaLogin {
  sub: string;
  login: string;
  email: string;
  role: string | null;
  kid: string;
  claims: Record<string, unknown>;
}

export interface FakeGrafana {
  url: string;
  logins: GrafanaLogin[];
  rejections: string[];
  /** How many times the JWKS was fetched. */
  jwksFetches: number;
  /** Verifies a token as a sign-in would; the refusal reason, or the login. */
  check(token: string): Promise<{ ok: true; login: GrafanaLogin } | { ok: false; reason: string }>;
  close(): Promise<void>;
}

const ROLES = ['None', 'Viewer', 'Editor', 'Admin', 'GrafanaAdmin'];
const SESSION_COOKIE = 'fake_grafana_session';

export async function startFakeGrafana(o: FakeGrafanaOptions): Promise<FakeGrafana> {
  const cacheTtlMs = o.cacheTtlMs ?? 60 * 60 * 1000;
  const now = o.now ?? (() => Date.now());
  const emailClaim = o.emailClaim ?? 'email';
  const loginClaim = o.loginClaim ?? 'login';
  const roleClaim = o.roleClaim ?? 'role';
  let cache: { at: number; keys: Map<string, { alg: string; key: KeyObject }> } | null = null;
  const sessions = new Map<string, GrafanaLogin>();

  const keySet = async () => {
    if (cache && now() - cache.at < cacheTtlMs) return cache.keys;
    const res = await fetch(o.jwksUrl);
    if (!res.ok) throw new Error(`JWKS: HTTP ${res.status}`);
    const body = (await res.json()) as { keys: (Record<string, string> & { kid: string; alg: string })[] };
    fake.jwksFetches++;
    const keys = new Map(body.keys.map((k) => [k.kid, { alg: k.alg, key: createPublicKey({ key: k, format: 'jwk' } as JsonWebKeyInput) }]));
    cache = { at: now(), keys };
    return keys;
  };

  async function check(token: string): Promise<{ ok: true; login: GrafanaLogin } | { ok: false; reason: string }> {
    const decoded = jwt.decode(token, { complete: true });
    if (!decoded || typeof decoded.payload !== 'object') return { ok: false, reason: 'malformed' };
    const { alg, kid } = decoded.header;
    if (alg !== 'RS256' && alg !== 'ES256') return { ok: false, reason: 'alg_not_allowed' };
    if (!kid) return { ok: false, reason: 'no_kid' };
    const jwk = (await keySet()).get(kid);
    if (!jwk) return { ok: false, reason: 'unknown_kid' };
    if (jwk.alg !== alg) return { ok: false, reason: 'alg_mismatch' };
    let claims: jwt.JwtPayload;
    try {
      claims = jwt.verify(token, jwk.key, { algorithms: [alg], clockTimestamp: Math.floor(Date.now() / 1000) }) as jwt.JwtPayload;
    } catch (e) {
      return { ok: false, reason: e instanceof jwt.TokenExpiredError ? 'expired' : 'bad_signature' };
    }
    const t = Math.floor(Date.now() / 1000);
    if (!Number.isInteger(claims.exp)) return { ok: false, reason: 'no_exp' };
    if (!Number.isInteger(claims.iat)) return { ok: false, reason: 'no_iat' };
    if (claims.iat! > t + 60) return { ok: false, reason: 'iat_in_future' };
    if (typeof claims.sub !== 'string' || !claims.sub) return { ok: false, reason: 'no_sub' };
    const login = claims[loginClaim];
    const email = claims[emailClaim];
    if (typeof login !== 'string' || !login) return { ok: false, reason: 'no_login' };
    if (typeof email !== 'string' || !email.includes('@')) return { ok: false, reason: 'no_email' };
    for (const [name, want] of Object.entries(o.expectClaims ?? {})) {
      const got = claims[name];
      if (name === 'aud') {
        const have = Array.isArray(got) ? got : [got];
        const wanted = Array.isArray(want) ? want : [want];
        if (!wanted.some((w) => have.includes(w))) return { ok: false, reason: 'unexpected_aud' };
      } else if (got !== want) return { ok: false, reason: `unexpected_${name}` };
    }
    const role = claims[roleClaim];
    if (role !== undefined && !ROLES.includes(role as string)) return { ok: false, reason: 'bad_role' };
    return { ok: true, login: { sub: claims.sub, login, email, role: (role as string | undefined) ?? null, kid, claims } };
  }

  const app = express();
  app.use(async (req: Request, res: Response) => {
    const url = new URL(req.originalUrl, 'http://fake.invalid');
    const token = url.searchParams.get('auth_token');
    if (token !== null) {
      const r = await check(token).catch((e: Error) => ({ ok: false as const, reason: `jwks_unavailable: ${e.message}` }));
      if (!r.ok) {
        fake.rejections.push(r.reason);
        res.status(401).json({ reason: r.reason });
        return;
      }
      fake.logins.push(r.login);
      const sid = randomBytes(12).toString('hex');
      sessions.set(sid, r.login);
      url.searchParams.delete('auth_token');
      res.setHeader('Set-Cookie', `${SESSION_COOKIE}=${sid}; Path=/; HttpOnly`);
      res.redirect(302, `${url.pathname}${url.search}`);
      return;
    }
    const sid = /fake_grafana_session=([0-9a-f]+)/.exec(req.headers.cookie ?? '')?.[1];
    const user = sid ? sessions.get(sid) : undefined;
    if (!user) {
      res.status(401).json({ reason: 'not_signed_in' });
      return;
    }
    res.json({ path: url.pathname, user: { login: user.login, email: user.email, role: user.role } });
  });

  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const fake: FakeGrafana = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    logins: [],
    rejections: [],
    jwksFetches: 0,
    check,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  return fake;
}
