import express, { Request, Response } from 'express';
import { compactVerify, decodeProtectedHeader } from 'jose';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';

/**
 * A fake Sisense that accepts JWT SSO exactly as CONTRACTS.md describes Sisense doing it,
 * verified with jose (an independent JWT library — not the code that mints our tokens):
 *
 *   GET /jwt?jwt=..&return_to=..           the main (system) tenant
 *   GET /:tenant/jwt?jwt=..&return_to=..   an organization tenant
 *   GET [/:tenant]/api/v1/authentication/logout
 *
 * It denies: any alg but HS256; a header typ other than JWT; a bad signature; a missing or
 * non-integer iat, or one more than `skewSeconds` (5 min) from its clock; an exp not later
 * than iat or already passed; a missing or repeated jti (every accepted jti is stored); a
 * missing or blank email claim; an iat not later than the one of the user's previous
 * session; a tenantId that is missing or wrong on an organization tenant, or present on
 * the system tenant. An accepted login answers 302 to return_to (Sisense's behaviour).
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
}

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
  const key = new TextEncoder().encode(opts.secret);
  const emailClaim = opts.emailClaim ?? 'sub';
  const tenants = opts.tenants ?? {};
  const skew = opts.skewSeconds ?? 300;
  const now = opts.now ?? (() => Date.now() / 1000);
  const seenJtis = new Set<string>();
  const lastIats = new Map<string, number>();
  const logins: SisenseLogin[] = [];
  const rejections: SisenseRejection[] = [];
  const logouts: { tenant: string | null }[] = [];

  async function verifyAndStore(token: string, tenant: string | null): Promise<SisenseLogin> {
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw new Denied('malformed_token');
    }
    if (header.alg !== 'HS256') throw new Denied('bad_alg');
    if (header.typ !== 'JWT') throw new Denied('bad_typ');
    let payloadBytes: Uint8Array;
    try {
      ({ payload: payloadBytes } = await compactVerify(token, key, { algorithms: ['HS256'] }));
    } catch {
      throw new Denied('bad_signature');
    }
    let claims: Record<string, unknown>;
    try {
      claims = JSON.parse(new TextDecoder().decode(payloadBytes));
    } catch {
      throw new Denied('malformed_payload');
    }
    if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) throw new Denied('malformed_payload');

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
  app.get('/api/v1/authentication/logout', (_req, res) => {
    logouts.push({ tenant: null });
    res.json({ loggedOut: true });
  });
  app.get('/:tenant/api/v1/authentication/logout', (req, res) => {
    logouts.push({ tenant: req.params.tenant });
    res.json({ loggedOut: true });
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
