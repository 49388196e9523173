import express, { Request, Response } from 'express';
import jwt from 'jsonwebtoken';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake Tableau site with a connected app (direct trust), accepting what the README's
 * Tableau section says Tableau accepts, verified with jsonwebtoken (an independent library,
 * not the code that mints our tokens). The rules (Tableau's connected-apps documentation and
 * its troubleshooting page's error codes):
 *
 * - HS256 only, signed with the connected app's secret value;
 * - header `kid` = the secret id, `iss` = the client id;
 * - `aud` = "tableau"; `sub` a non-empty string naming a user of the site (case-sensitive:
 *   error 5 SYSTEM_USER_NOT_FOUND otherwise);
 * - `scp` an ARRAY of strings, each a known scope, containing a view-embedding scope
 *   (a string, as some libraries send it, is error 10084 JWT_PARSE_ERROR);
 * - `jti` present, a UUID, never seen before (a replay is refused);
 * - `exp` in the future and at most 10 minutes ahead (error 16 LOGIN_FAILED); `iat`, when
 *   present, not in the future (a small skew allowed).
 *
 * Endpoints, as `@tableau/embedding-api` calls them:
 *   POST /vizportal/api/web/v1/auth/embed/signin  JSON {siteName, jwt}, credentialed CORS from
 *        the connected app's domain allowlist: 200 and a session cookie, or 401 with the code.
 *   GET  /vizportal/api/web/v1/auth/embed/target?token=..&target=..  (the SDK's iframe-auth
 *        fallback): checks the token, then 302 to target with a session.
 *   GET  /t/:site/views/...  the viz the iframe shows: who is signed in (cookie or a recent
 *        sign-in for this site), else 401.
 */
export interface FakeTableauOptions {
  clientId: string;
  secretId: string;
  secret: string;
  /** Usernames of the site (exact case). */
  users: string[];
  /** Origins the connected app allows (its domain allowlist). */
  allowedOrigins?: string[];
  now?: () => number;
}

export interface TableauSignIn {
  sub: string;
  scp: string[];
  claims: Record<string, unknown>;
  header: Record<string, unknown>;
  via: 'signin' | 'target';
}

export interface FakeTableau {
  url: string;
  signIns: TableauSignIn[];
  rejections: { code: number; reason: string }[];
  /** Checks a token as Tableau would: the sign-in, or why it is refused. */
  verify(token: string): { ok: true; signIn: Omit<TableauSignIn, 'via'> } | { ok: false; code: number; reason: string };
  close(): Promise<void>;
}

export const TABLEAU_SCOPES = ['tableau:views:embed', 'tableau:views:embed_authoring', 'tableau:insights:embed', 'tableau:metrics:embed'];
const EMBED_SCOPES = ['tableau:views:embed', 'tableau:views:embed_authoring'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
const MAX_LIFETIME = 600;
const SKEW = 5;
const COOKIE = 'workgroup_session_id';

export async function startFakeTableau(o: FakeTableauOptions): Promise<FakeTableau> {
  const now = o.now ?? (() => Math.floor(Date.now() / 1000));
  const seen = new Set<string>();
  const sessions = new Map<string, string>();
  const fake: FakeTableau = { url: '', signIns: [], rejections: [], verify, close: async () => undefined };

  function verify(token: string): ReturnType<FakeTableau['verify']> {
    const no = (code: number, reason: string) => ({ ok: false as const, code, reason });
    let decoded: jwt.Jwt;
    try {
      decoded = jwt.verify(token, o.secret, { algorithms: ['HS256'], audience: 'tableau', complete: true, clockTimestamp: now(), clockTolerance: 0 }) as jwt.Jwt;
    } catch (e) {
      return no(10084, `JWT_PARSE_ERROR: ${(e as Error).message}`);
    }
    const header = decoded.header as unknown as Record<string, unknown>;
    const p = decoded.payload as Record<string, unknown>;
    if (header.kid !== o.secretId) return no(10083, 'BAD_KID: the kid header is not a secret id of the connected app');
    if (header.iss !== o.clientId) return no(10085, 'ISSUER: the iss header is not the connected app\'s client id');
    if (p.iss !== undefined && p.iss !== o.clientId) return no(10085, 'ISSUER: the iss claim is not the connected app\'s client id');
    if (typeof p.exp !== 'number') return no(16, 'LOGIN_FAILED: no exp');
    if (p.exp > now() + MAX_LIFETIME) return no(16, 'LOGIN_FAILED: exp more than 10 minutes ahead');
    if (p.iat !== undefined && (typeof p.iat !== 'number' || p.iat > now() + SKEW)) return no(16, 'LOGIN_FAILED: iat in the future');
    if (typeof p.iat === 'number' && p.exp - p.iat > MAX_LIFETIME) return no(16, 'LOGIN_FAILED: a lifetime over 10 minutes');
    if (typeof p.jti !== 'string' || !UUID.test(p.jti)) return no(16, 'LOGIN_FAILED: jti missing or not a UUID');
    if (seen.has(p.jti)) return no(16, 'LOGIN_FAILED: jti already used');
    if (!Array.isArray(p.scp) || p.scp.length === 0 || !p.scp.every((s) => typeof s === 'string')) return no(10084, 'JWT_PARSE_ERROR: scp must be an array of strings');
    if (!p.scp.every((s) => TABLEAU_SCOPES.includes(s as string))) return no(10087, 'INVALID_SCOPE: an unknown scope');
    if (!p.scp.some((s) => EMBED_SCOPES.includes(s as string))) return no(10087, 'INVALID_SCOPE: no view-embedding scope');
    if (typeof p.sub !== 'string' || p.sub === '') return no(16, 'LOGIN_FAILED: no sub');
    if (!o.users.includes(p.sub)) return no(5, 'SYSTEM_USER_NOT_FOUND: no such user (case-sensitive)');
    seen.add(p.jti);
    return { ok: true, signIn: { sub: p.sub, scp: p.scp as string[], claims: p, header } };
  }

  const app = express();
  app.disable('x-powered-by');
  const cors = (req: Request, res: Response): boolean => {
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    if (!(o.allowedOrigins ?? []).includes(origin)) return false;
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Allow-Credentials', 'true');
    res.setHeader('Access-Control-Allow-Headers', 'content-type');
    res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
    return true;
  };
  const startSession = (res: Response, sub: string) => {
    const id = randomBytes(12).toString('hex');
    sessions.set(id, sub);
    res.setHeader('Set-Cookie', `${COOKIE}=${id}; Path=/; HttpOnly; SameSite=None; Secure`);
  };
  const refuse = (res: Response, status: number, code: number, reason: string) => {
    fake.rejections.push({ code, reason });
    res.status(status).json({ result: { errors: [{ code, message: reason }] } });
  };

  app.options('/vizportal/api/web/v1/auth/embed/signin', (req, res) => {
    if (!cors(req, res)) return refuse(res, 403, 10090, 'DOMAIN_NOT_ALLOWED');
    res.status(204).end();
  });
  app.post('/vizportal/api/web/v1/auth/embed/signin', express.json(), (req: Request, res: Response) => {
    if (!cors(req, res)) return refuse(res, 403, 10090, 'DOMAIN_NOT_ALLOWED: the origin is not in the connected app\'s domain allowlist');
    const body = (req.body ?? {}) as { jwt?: unknown };
    if (typeof body.jwt !== 'string') return refuse(res, 400, 10084, 'JWT_PARSE_ERROR: no jwt');
    const checked = verify(body.jwt);
    if (!checked.ok) return refuse(res, 401, checked.code, checked.reason);
    fake.signIns.push({ ...checked.signIn, via: 'signin' });
    startSession(res, checked.signIn.sub);
    res.json({ result: { user: { username: checked.signIn.sub } } });
  });
  app.get('/vizportal/api/web/v1/auth/embed/target', (req: Request, res: Response) => {
    const token = typeof req.query.token === 'string' ? req.query.token : '';
    const target = typeof req.query.target === 'string' ? req.query.target : '/';
    const checked = verify(token);
    if (!checked.ok) return refuse(res, 401, checked.code, checked.reason);
    if (!target.startsWith('/') || target.startsWith('//')) return refuse(res, 400, 0, 'target must be a path');
    fake.signIns.push({ ...checked.signIn, via: 'target' });
    startSession(res, checked.signIn.sub);
    res.redirect(302, target);
  });
  app.get(/^\/t\/[^/]+\/views\//, (req: Request, res: Response) => {
    const cookie = /(?:^|;\s*)workgroup_session_id=([0-9a-f]+)/.exec(req.headers.cookie ?? '')?.[1];
    // A third-party iframe may not send the cookie the sign-in set: a sign-in in the last
    // minute stands for it (the fake's own shortcut; the token was checked at the sign-in).
    const recent = fake.signIns.length ? fake.signIns[fake.signIns.length - 1].sub : undefined;
    const who = (cookie && sessions.get(cookie)) ?? recent;
    if (!who) return res.status(401).type('text').send('not signed in');
    res.type('html').send(`<!doctype html><html><body style="font-family:sans-serif;margin:2rem"><h2>Fake Tableau view</h2><p id="who">signed in as ${who.replace(/[<>&"]/g, '')}</p></body></html>`);
  });

  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () => new Promise((resolve) => server.close(() => resolve()));
  return fake;
}
