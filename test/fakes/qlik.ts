import express, { Request, Response } from 'express';
import jwt from 'jsonwebtoken';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';

/**
 * A fake Qlik Cloud tenant with a JWT identity provider as the README's Qlik section sets it
 * up: `staticKeys` of {kid, pem} pasted by the operator, the issuer registered there. It
 * verifies with jsonwebtoken (not the code that mints our tokens):
 *
 *   POST /login/jwt-session   Authorization: Bearer <jwt> -> 200 {subject} (a Qlik session), or 401 {reason}
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
}

export interface FakeQlik {
  url: string;
  sessions: Record<string, unknown>[];
  verify(token: string): { ok: true; claims: Record<string, unknown> } | { ok: false; reason: string };
  /** The operator pastes another key (a rotation). */
  addKey(k: { kid: string; pem: string }): void;
  close(): Promise<void>;
}

const AUDIENCE = 'qlik.api/login/jwt-session';

export async function startFakeQlik(o: FakeQlikOptions): Promise<FakeQlik> {
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

  const app = express();
  app.post('/login/jwt-session', (req: Request, res: Response) => {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const r = token ? verify(token) : { ok: false as const, reason: 'no_token' };
    if (!r.ok) {
      res.status(401).json({ reason: r.reason });
      return;
    }
    fake.sessions.push(r.claims);
    res.json({ subject: r.claims.sub });
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const fake: FakeQlik = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sessions: [],
    verify,
    addKey: (k) => keys.set(k.kid, k.pem),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  return fake;
}
