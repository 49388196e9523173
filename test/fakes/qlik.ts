import express, { Request, Response } from 'express';
import jwt from 'jsonwebtoken';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';

/**
 * A fake Qlik Cloud tenant with a JWT identity provider as the README's Qlik section sets it
 * up: `staticKeys` of {kid, pem} pasted by the operator — at most one, as Qlik holds one key
 * per JWT identity provider (qlik-cli `identity-provider create jwtauth`: "Limited to 1 key
 * per identity provider"), so a rotation swaps it — and the issuer registered there. It
 * verifies with jsonwebtoken (not the code that mints our tokens):
 *
 *   POST /login/jwt-session   Authorization: Bearer <jwt> -> 200 {subject} and a session cookie, or 401 {reason}
 *   GET  /api/v1/users/me     the session's user {subject, name, email}, or 401
 *
 * From a browser (an Origin header) Qlik answers only origins of its web integration, with
 * credentialed CORS (and the preflight), and requires that integration's id in the
 * `qlik-web-integration-id` header when one is configured (qlik.dev "Web integrations").
 * The cookie is `SameSite=None; Secure` as Qlik's is; Chromium keeps Secure cookies set by
 * http://127.0.0.1 (a potentially trustworthy origin), and the host page on 127.0.0.1 at
 * another port is same-site anyway.
 *
 * It refuses: HS* or none (Qlik accepts RS256/ES256 only); a kid not among its static keys;
 * a bad signature; iss other than the registered issuer; aud other than
 * "qlik.api/login/jwt-session"; no sub; subType other than "user"; no name or email;
 * email_verified not true; groups not an array of strings; no jti or a repeated one; no
 * iat / nbf / exp, a token not yet valid or expired, or exp more than 60 minutes after iat.
 */
export interface FakeQlikOptions {
  issuer: string;
  staticKeys: { kid: string; pem: string }[];
  /** The web integration's id: required in `qlik-web-integration-id` when set. */
  webIntegrationId?: string;
  /** The web integration's allowed origins (credentialed CORS). */
  allowedOrigins?: string[];
}

export interface FakeQlik {
  url: string;
  sessions: Record<string, unknown>[];
  verify(token: string): { ok: true; claims: Record<string, unknown> } | { ok: false; reason: string };
  /** The operator pastes the identity provider's key, replacing the one it held (a rotation). */
  setKey(k: { kid: string; pem: string }): void;
  close(): Promise<void>;
}

const AUDIENCE = 'qlik.api/login/jwt-session';

export async function startFakeQlik(o: FakeQlikOptions): Promise<FakeQlik> {
  if (o.staticKeys.length > 1) throw new Error('Qlik holds one static key per JWT identity provider');
  const keys = new Map(o.staticKeys.map((k) => [k.kid, k.pem]));
  const seen = new Set<string>();

  function verify(token: string): { ok: true; claims: Record<string, unknown> } | { ok: false; reason: string } {
    const decoded = jwt.decode(token, { complete: true });
    if (!decoded || typeof decoded.payload !== 'object') return { ok: false, reason: 'malformed' };
    const { alg, kid } = decoded.header;
    if (alg !== 'RS256' && alg !== 'ES256') return { ok: false, reason: 'alg_not_allowed' };
    const pem = kid ? keys.get(kid) : undefined;
    if (!pem) return { ok: false, reason: 'unknown_kid' };
    let c: jwt.JwtPayload;
    try {
      c = jwt.verify(token, pem, { algorithms: [alg], issuer: o.issuer, audience: AUDIENCE }) as jwt.JwtPayload;
    } catch (e) {
      const m = (e as Error).message;
      return { ok: false, reason: /issuer/.test(m) ? 'bad_issuer' : /audience/.test(m) ? 'bad_audience' : e instanceof jwt.TokenExpiredError ? 'expired' : e instanceof jwt.NotBeforeError ? 'not_yet_valid' : 'bad_signature' };
    }
    if (typeof c.sub !== 'string' || !c.sub) return { ok: false, reason: 'no_sub' };
    if (c.subType !== 'user') return { ok: false, reason: 'bad_sub_type' };
    if (typeof c.name !== 'string' || !c.name) return { ok: false, reason: 'no_name' };
    if (typeof c.email !== 'string' || !c.email.includes('@')) return { ok: false, reason: 'no_email' };
    if (c.email_verified !== true) return { ok: false, reason: 'email_not_verified' };
    if (!Array.isArray(c.groups) || c.groups.some((g) => typeof g !== 'string')) return { ok: false, reason: 'bad_groups' };
    if (!Number.isInteger(c.iat) || !Number.isInteger(c.exp) || !Number.isInteger(c.nbf)) return { ok: false, reason: 'bad_times' };
    if (c.exp! - c.iat! > 3600) return { ok: false, reason: 'too_long_lived' };
    if (typeof c.jti !== 'string' || !c.jti) return { ok: false, reason: 'no_jti' };
    if (seen.has(c.jti)) return { ok: false, reason: 'replay' };
    seen.add(c.jti);
    return { ok: true, claims: c };
  }

  const cookies = new Map<string, Record<string, unknown>>();
  const app = express();
  app.disable('x-powered-by');
  /** Credentialed CORS for the web integration's origins; false: an origin not allowed. */
  const cors = (req: Request, res: Response): boolean => {
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    if (!(o.allowedOrigins ?? []).includes(origin)) return false;
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Allow-Credentials', 'true');
    res.setHeader('Access-Control-Allow-Headers', 'authorization, content-type, qlik-web-integration-id');
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
    res.setHeader('Vary', 'Origin');
    return true;
  };
  /** The browser-side checks (a request with an Origin): the origin, then the web integration id. */
  const browserRefusal = (req: Request, res: Response): [number, string] | null => {
    if (!cors(req, res)) return [403, 'origin_not_allowed'];
    if (o.webIntegrationId === undefined || req.headers.origin === undefined) return null;
    const id = req.headers['qlik-web-integration-id'];
    if (id === undefined || id === '') return [400, 'web_integration_id_required'];
    return id === o.webIntegrationId ? null : [403, 'web_integration_id_unknown'];
  };
  app.options(['/login/jwt-session', '/api/v1/users/me'], (req: Request, res: Response) => {
    if (!cors(req, res)) {
      res.status(403).json({ reason: 'origin_not_allowed' });
      return;
    }
    res.status(204).end();
  });
  app.post('/login/jwt-session', (req: Request, res: Response) => {
    const refused = browserRefusal(req, res);
    if (refused) {
      res.status(refused[0]).json({ reason: refused[1] });
      return;
    }
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const r = token ? verify(token) : { ok: false as const, reason: 'no_token' };
    if (!r.ok) {
      res.status(401).json({ reason: r.reason });
      return;
    }
    fake.sessions.push(r.claims);
    const id = randomBytes(16).toString('hex');
    cookies.set(id, r.claims);
    res.setHeader('Set-Cookie', `_session=${id}; Path=/; HttpOnly; SameSite=None; Secure`);
    res.json({ subject: r.claims.sub });
  });
  app.get('/api/v1/users/me', (req: Request, res: Response) => {
    const refused = browserRefusal(req, res);
    if (refused) {
      res.status(refused[0]).json({ reason: refused[1] });
      return;
    }
    const id = /(?:^|;\s*)_session=([0-9a-f]+)/.exec(req.headers.cookie ?? '')?.[1];
    const c = id ? cookies.get(id) : undefined;
    if (!c) {
      res.status(401).json({ reason: 'not_signed_in' });
      return;
    }
    res.json({ subject: c.sub, name: c.name, email: c.email, groups: c.groups });
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const fake: FakeQlik = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sessions: [],
    verify,
    setKey: (k) => {
      keys.clear();
      keys.set(k.kid, k.pem);
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  return fake;
}
