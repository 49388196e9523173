import express, { Request, Response } from 'express';
import jwt from 'jsonwebtoken';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake Sigma organization accepting what the README's Sigma section says Sigma accepts,
 * verified with jsonwebtoken (an independent library, not the code that mints our tokens):
 *
 * - HS256 only, signed with the embed secret; header `kid` = the embed client id;
 * - `sub` an email; `jti` a non-empty string never seen before; `iat` and `exp` integers,
 *   `exp` in the future, `iat` not in the future, `exp - iat` at most 30 days;
 * - `ver` "1.1" when present; `first_name`/`last_name` strings; `user_attributes` an object
 *   of strings; `teams` an array of team names that exist in the organization;
 *   `account_type` an account type of the organization.
 *
 *   GET /:org/workbook/:workbook?:jwt=..&:embed=true  the organization's name, `:embed=true`
 *        and a token by the rules: 200, a page that tells its parent `workbook:loaded` (as
 *        Sigma's iframe does for @sigmacomputing/embed-sdk); otherwise 401 with the reason.
 */
export interface FakeSigmaOptions {
  clientId: string;
  secret: string;
  organization: string;
  teams?: string[];
  accountTypes?: string[];
  now?: () => number;
}

export interface SigmaEmbed {
  workbook: string;
  claims: Record<string, unknown>;
  header: Record<string, unknown>;
}

export interface FakeSigma {
  url: string;
  embeds: SigmaEmbed[];
  rejections: string[];
  verify(token: string): { ok: true; claims: Record<string, unknown>; header: Record<string, unknown> } | { ok: false; reason: string };
  close(): Promise<void>;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const THIRTY_DAYS = 30 * 24 * 3600;
const SKEW = 5;

export async function startFakeSigma(o: FakeSigmaOptions): Promise<FakeSigma> {
  const now = o.now ?? (() => Math.floor(Date.now() / 1000));
  const seen = new Set<string>();
  const fake: FakeSigma = { url: '', embeds: [], rejections: [], verify, close: async () => undefined };

  function verify(token: string): ReturnType<FakeSigma['verify']> {
    const no = (reason: string) => ({ ok: false as const, reason });
    let decoded: jwt.Jwt;
    try {
      decoded = jwt.verify(token, o.secret, { algorithms: ['HS256'], complete: true, clockTimestamp: now(), clockTolerance: 0 }) as jwt.Jwt;
    } catch (e) {
      return no(`invalid token: ${(e as Error).message}`);
    }
    const header = decoded.header as unknown as Record<string, unknown>;
    const p = decoded.payload as Record<string, unknown>;
    const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
    if (header.kid !== o.clientId) return no('kid is not the embed client id');
    if (typeof p.sub !== 'string' || !EMAIL.test(p.sub)) return no('sub must be an email');
    if (typeof p.jti !== 'string' || p.jti === '') return no('jti missing');
    if (seen.has(p.jti)) return no('jti already used');
    if (!isInt(p.iat) || !isInt(p.exp)) return no('iat and exp must be whole seconds');
    if (p.iat > now() + SKEW) return no('iat in the future');
    if (p.exp - p.iat > THIRTY_DAYS) return no('exp more than 30 days after iat');
    if (p.ver !== undefined && p.ver !== '1.1') return no('ver must be 1.1');
    for (const k of ['first_name', 'last_name', 'account_type']) if (p[k] !== undefined && typeof p[k] !== 'string') return no(`${k} must be a string`);
    if (p.user_attributes !== undefined) {
      const a = p.user_attributes;
      if (typeof a !== 'object' || a === null || Array.isArray(a) || !Object.values(a).every((v) => typeof v === 'string')) return no('user_attributes must be an object of strings');
    }
    if (p.teams !== undefined) {
      if (!Array.isArray(p.teams) || !p.teams.every((t) => typeof t === 'string')) return no('teams must be an array of strings');
      const unknown = p.teams.filter((t) => !(o.teams ?? []).includes(t as string));
      if (unknown.length) return no(`no such team: ${unknown.join(', ')}`);
    }
    if (p.account_type !== undefined && !(o.accountTypes ?? ['Viewer', 'Creator']).includes(p.account_type as string)) return no('no such account type');
    seen.add(p.jti);
    return { ok: true, claims: p, header };
  }

  const app = express();
  app.disable('x-powered-by');
  app.get('/:org/workbook/:workbook', (req: Request, res: Response) => {
    const refuse = (reason: string) => {
      fake.rejections.push(reason);
      res.status(401).type('text').send(reason);
    };
    if (req.params.org !== o.organization) return refuse('another organization');
    if (req.query[':embed'] !== 'true') return refuse(':embed=true missing');
    const token = req.query[':jwt'];
    if (typeof token !== 'string') return refuse(':jwt missing');
    const checked = verify(token);
    if (!checked.ok) return refuse(checked.reason);
    const workbook = String(req.params.workbook);
    fake.embeds.push({ workbook, claims: checked.claims, header: checked.header });
    const who = String(checked.claims.sub).replace(/[<>&"]/g, '');
    res.type('html').send(`<!doctype html><html><body style="font-family:sans-serif;margin:2rem">
<h2>Fake Sigma workbook ${workbook.replace(/[^A-Za-z0-9_-]/g, '')}</h2><p id="who">signed in as ${who}</p>
<script>parent.postMessage({ type: 'workbook:loaded', workbook: { variables: {} } }, '*');</script></body></html>`);
  });

  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () => new Promise((resolve) => server.close(() => resolve()));
  return fake;
}
