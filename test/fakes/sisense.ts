import express, { Request, Response } from 'express';
import jwt from 'jsonwebtoken';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';

/**
 * A fake Sisense that accepts JWT SSO exactly as the contract in the README describes Sisense doing it,
 * verified with jsonwebtoken (an independent JWT library: the service signs with node:crypto
 * and jose, and verifying with either would share their mistakes):
 *
 *   GET /jwt?jwt=..&return_to=..           the main (system) tenant
 *   GET /:tenant/jwt?jwt=..&return_to=..   an organization tenant
 *   GET [/:tenant]/api/v1/authentication/logout   ends the fake's session (cookie cleared);
 *        with `remoteLogoutUrl` answers 302 to it (Sisense calls our Remote Logout URL after
 *        its own logout), else 200 JSON.
 *   GET [/:tenant]/app/...   a Sisense page: with the fake's session cookie (for that tenant)
 *        200 JSON {page, user}; without, 302 `<remoteLoginUrl>?return_to=<path, encoded>`
 *        (Sisense configured with our Remote Login URL), or 401 when none is configured.
 *   GET [/:tenant]/api/auth/isauth   what the Compose SDK's SSO authenticator asks first:
 *        200 application/json `{isAuthenticated: true}` with a session (for that tenant),
 *        else `{isAuthenticated: false, ssoEnabled, loginUrl}` (loginUrl = the Remote Login URL).
 *        Cross-origin with credentials and the SDK's `Internal: true` header, so only for
 *        `corsAllowedOrigins` (Sisense's CORS allow-list): the preflight names the origin, the
 *        credentials and the requested headers; another origin gets no CORS headers. Every
 *        call is recorded (`isauthCalls`) with what the browser sent.
 *
 * It denies: any alg but HS256; a header typ other than JWT; a bad signature; a missing or
 * non-integer iat, or one more than `skewSeconds` (5 min) from its clock; an exp not later
 * than iat or already passed; a missing or repeated jti (every accepted jti is stored); a
 * missing or blank email claim; an iat not later than the one of the user's previous
 * session; a tenantId that is missing or wrong on an organization tenant, or present on
 * the system tenant. An accepted login opens a session (Set-Cookie) and answers 302 to
 * return_to (Sisense's behaviour).
 */
export interface FakeSisenseOptions {
  secret: string;
  /** Sisense's configurable "Email Claim" (default sub). */
  emailClaim?: string;
  /** Organization tenants: tenant name (URL prefix) -> tenant id (tenantId claim). */
  tenants?: Record<string, string>;
  skewSeconds?: number;
  /** The fake's clock in seconds (tests move it to check skew rules). */
  now?: () => number;
  /** Sisense's "Remote Login URL": where a page request without a session is sent. */
  remoteLoginUrl?: string;
  /** Sisense's "Remote Logout URL": where its own logout sends the browser afterwards. */
  remoteLogoutUrl?: string;
  /** Admin > Security > CORS: origins of apps embedding Sisense with the Compose SDK. */
  corsAllowedOrigins?: string[];
  /**
   * The session cookie never reaches the fake again after a login (as when a browser blocks
   * third-party cookies): isauth keeps answering "not authenticated".
   */
  sessionCookieLost?: boolean;
}

/** One call of isauth (or its preflight), as the browser sent it. */
export interface IsAuthCall {
  method: string;
  tenant: string | null;
  origin: string | null;
  /** The Compose SDK sends `Internal: true`. */
  internal: string | null;
  hadSession: boolean;
  /** Preflight: Access-Control-Request-Headers. */
  requestHeaders: string | null;
  query: Record<string, unknown>;
}

/** The fake's session cookie (set on an accepted /jwt login, cleared by its logout). */
export const SISENSE_SESSION_COOKIE = 'fake_sisense_session';

export interface SisenseLogin {
  tenant: string | null;
  email: string;
  iat: number;
  jti: string;
  returnTo: string | null;
  claims: Record<string, unknown>;
}

export interface SisenseRejection {
  tenant: string | null;
  reason: string;
}

export interface PresentResult {
  status: number;
  location: string | null;
  body: any;
}

export interface FakeSisense {
  url: string;
  logins: SisenseLogin[];
  rejections: SisenseRejection[];
  logouts: { tenant: string | null }[];
  /** Live sessions of the fake (ended by its logout). */
  sessions: Map<string, { email: string; tenant: string | null }>;
  isauthCalls: IsAuthCall[];
  /** The last iat accepted for this user (by email), as Sisense stores it. */
  lastIat(email: string): number | undefined;
  /** Loads a URL (e.g. our redirect's Location) the way a browser would, without following. */
  present(url: string): Promise<PresentResult>;
  close(): Promise<void>;
}

class Denied extends Error {
  constructor(
    readonly reason: string,
    readonly status = 401,
  ) {
    super(reason);
  }
}

export async function startFakeSisense(opts: FakeSisenseOptions): Promise<FakeSisense> {
  // Sisense's key is the shared secret string's UTF-8 bytes (jsonwebtoken takes a string as such).
  const key = opts.secret;
  const emailClaim = opts.emailClaim ?? 'sub';
  const tenants = opts.tenants ?? {};
  const skew = opts.skewSeconds ?? 300;
  const now = opts.now ?? (() => Date.now() / 1000);
  const seenJtis = new Set<string>();
  const lastIats = new Map<string, number>();
  const logins: SisenseLogin[] = [];
  const rejections: SisenseRejection[] = [];
  const logouts: FakeSisense['logouts'] = [];
  const sessions: FakeSisense['sessions'] = new Map();
  const isauthCalls: IsAuthCall[] = [];
  const corsOrigins = new Set(opts.corsAllowedOrigins ?? []);

  async function verifyAndStore(token: string, tenant: string | null): Promise<SisenseLogin> {
    const decoded = jwt.decode(token, { complete: true });
    if (!decoded) throw new Denied('malformed_token');
    const header = decoded.header as unknown as Record<string, unknown>;
    if (header.alg !== 'HS256') throw new Denied('bad_alg');
    if (header.typ !== 'JWT') throw new Denied('bad_typ');
    // The signature only: Sisense's own claim rules (its skew, exp after iat) are checked below.
    try {
      jwt.verify(token, key, { algorithms: ['HS256'], ignoreExpiration: true, ignoreNotBefore: true });
    } catch {
      throw new Denied('bad_signature');
    }
    // jsonwebtoken hands back a payload that is not JSON as its text.
    const payload = decoded.payload as unknown;
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw new Denied('malformed_payload');
    const claims = payload as Record<string, unknown>;

    const t = now();
    const iat = claims.iat;
    if (iat === undefined) throw new Denied('iat_missing');
    if (typeof iat !== 'number' || !Number.isInteger(iat)) throw new Denied('iat_not_integer');
    if (Math.abs(iat - t) > skew) throw new Denied('iat_out_of_skew');
    if (claims.exp !== undefined) {
      if (typeof claims.exp !== 'number') throw new Denied('exp_invalid');
      if (claims.exp <= iat) throw new Denied('exp_not_after_iat');
      if (claims.exp <= t) throw new Denied('expired');
    }
    const jti = claims.jti;
    if (typeof jti !== 'string' || jti.trim() === '') throw new Denied('jti_missing');
    if (seenJtis.has(jti)) throw new Denied('jti_replayed');
    const email = claims[emailClaim];
    if (typeof email !== 'string' || email.trim() === '') throw new Denied('email_missing');
    if (claims.groups !== undefined && (!Array.isArray(claims.groups) || claims.groups.some((g) => typeof g !== 'string'))) {
      throw new Denied('groups_invalid');
    }
    if (tenant === null) {
      if (claims.tenantId !== undefined) throw new Denied('tenant_id_unexpected');
    } else {
      if (claims.tenantId === undefined) throw new Denied('tenant_id_missing');
      if (claims.tenantId !== tenants[tenant]) throw new Denied('tenant_id_mismatch');
    }
    const userKey = email.toLowerCase();
    const last = lastIats.get(userKey);
    if (last !== undefined && iat <= last) throw new Denied('iat_not_increasing');
    // Sisense stores the jti and the user's iat only for a login it accepts. Stored here, with
    // no await since the checks above, so two concurrent requests cannot both pass them.
    seenJtis.add(jti);
    lastIats.set(userKey, iat);
    return { tenant, email, iat, jti, returnTo: null, claims };
  }

  async function handleJwt(req: Request, res: Response, tenant: string | null): Promise<void> {
    try {
      if (tenant !== null && !Object.prototype.hasOwnProperty.call(tenants, tenant)) throw new Denied('unknown_tenant', 404);
      const token = req.query.jwt;
      if (typeof token !== 'string' || token === '') throw new Denied('jwt_missing', 400);
      const returnTo = typeof req.query.return_to === 'string' ? req.query.return_to : null;
      const login = await verifyAndStore(token, tenant);
      logins.push({ ...login, returnTo });
      const sid = randomBytes(16).toString('hex');
      sessions.set(sid, { email: login.email, tenant });
      if (!opts.sessionCookieLost) res.setHeader('Set-Cookie', `${SISENSE_SESSION_COOKIE}=${sid}; Path=/; HttpOnly`);
      const home = tenant === null ? '/app/main' : `/${tenant}/app/main`;
      res.redirect(302, new URL(returnTo ?? home, base).href);
    } catch (e) {
      if (!(e instanceof Denied)) throw e;
      rejections.push({ tenant, reason: e.reason });
      res.status(e.status).json({ error: e.reason });
    }
  }

  const app = express();
  app.get('/jwt', (req, res) => handleJwt(req, res, null));
  app.get('/:tenant/jwt', (req, res) => handleJwt(req, res, req.params.tenant));
  function handleLogout(req: Request, res: Response, tenant: string | null): void {
    const sid = cookieValue(req, SISENSE_SESSION_COOKIE);
    if (sid !== undefined) sessions.delete(sid);
    logouts.push({ tenant });
    res.setHeader('Set-Cookie', `${SISENSE_SESSION_COOKIE}=; Path=/; Max-Age=0`);
    if (opts.remoteLogoutUrl) {
      res.setHeader('Location', opts.remoteLogoutUrl);
      res.status(302).end();
      return;
    }
    res.json({ loggedOut: true });
  }
  // Sisense's CORS: only allow-listed origins, with credentials (the SDK's fetch includes them).
  function cors(req: Request, res: Response): void {
    const origin = req.headers.origin;
    if (typeof origin !== 'string' || !corsOrigins.has(origin)) return;
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Allow-Credentials', 'true');
    res.setHeader('Vary', 'Origin');
  }
  function isauthCall(req: Request, tenant: string | null, session: boolean): void {
    const header = (name: string) => (typeof req.headers[name] === 'string' ? (req.headers[name] as string) : null);
    isauthCalls.push({
      method: req.method,
      tenant,
      origin: header('origin'),
      internal: header('internal'),
      hadSession: session,
      requestHeaders: header('access-control-request-headers'),
      query: { ...req.query },
    });
  }
  function handleIsAuth(req: Request, res: Response, tenant: string | null): void {
    if (tenant !== null && !Object.prototype.hasOwnProperty.call(tenants, tenant)) {
      res.status(404).json({ error: 'unknown_tenant' });
      return;
    }
    cors(req, res);
    if (req.method === 'OPTIONS') {
      isauthCall(req, tenant, false);
      if (res.getHeader('Access-Control-Allow-Origin')) {
        res.setHeader('Access-Control-Allow-Methods', 'GET, OPTIONS');
        const asked = req.headers['access-control-request-headers'];
        if (typeof asked === 'string') res.setHeader('Access-Control-Allow-Headers', asked);
      }
      res.status(204).end();
      return;
    }
    const sid = cookieValue(req, SISENSE_SESSION_COOKIE);
    const session = sid !== undefined ? sessions.get(sid) : undefined;
    const ok = !!session && session.tenant === tenant;
    isauthCall(req, tenant, ok);
    res.setHeader('Cache-Control', 'no-store');
    if (ok) {
      res.json({ isAuthenticated: true });
      return;
    }
    res.json({ isAuthenticated: false, ssoEnabled: !!opts.remoteLoginUrl, ...(opts.remoteLoginUrl ? { loginUrl: opts.remoteLoginUrl } : {}) });
  }
  app.all('/api/auth/isauth', (req, res) => handleIsAuth(req, res, null));
  app.all('/:tenant/api/auth/isauth', (req, res) => handleIsAuth(req, res, req.params.tenant));

  app.get('/api/v1/authentication/logout', (req, res) => handleLogout(req, res, null));
  app.get('/:tenant/api/v1/authentication/logout', (req, res) => handleLogout(req, res, req.params.tenant));

  // Sisense pages ([/<tenant>]/app/...): a session shows the page, no session goes to the
  // Remote Login URL with return_to (the path asked for, query included).
  app.use((req, res, next) => {
    const m = /^(?:\/([^/]+))?\/app(?:\/|$)/.exec(req.path);
    if (req.method !== 'GET' || !m || (m[1] !== undefined && !Object.prototype.hasOwnProperty.call(tenants, m[1]))) {
      next();
      return;
    }
    const tenant = m[1] ?? null;
    const sid = cookieValue(req, SISENSE_SESSION_COOKIE);
    const session = sid !== undefined ? sessions.get(sid) : undefined;
    if (session && session.tenant === tenant) {
      res.status(200).json({ page: req.originalUrl, user: session.email });
      return;
    }
    if (!opts.remoteLoginUrl) {
      res.status(401).json({ error: 'no_session' });
      return;
    }
    const sep = opts.remoteLoginUrl.includes('?') ? '&' : '?';
    res.setHeader('Location', `${opts.remoteLoginUrl}${sep}return_to=${encodeURIComponent(req.originalUrl)}`);
    res.status(302).end();
  });

  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url: base,
    logins,
    rejections,
    logouts,
    sessions,
    isauthCalls,
    lastIat: (email) => lastIats.get(email.toLowerCase()),
    async present(url) {
      const r = await fetch(url, { redirect: 'manual' });
      const text = await r.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        /* not JSON */
      }
      return { status: r.status, location: r.headers.get('location'), body };
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

function cookieValue(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}
