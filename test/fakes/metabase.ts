import express, { Request, Response } from 'express';
import jwt from 'jsonwebtoken';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CookieJar } from '../support/cookie-jar';

/**
 * A fake Metabase that accepts what the README says Metabase accepts, verified with
 * jsonwebtoken (an independent JWT library: the service signs with node:crypto and jose, and
 * verifying with either would share their mistakes):
 *
 *   GET /auth/sso?jwt=..&return_to=..   JWT SSO. Denies: any alg but HS256, a bad signature,
 *        a missing or non-integer iat or one more than 180 s old (no leeway), an exp or nbf
 *        that fails (no leeway), a missing email, groups that are not an array of strings,
 *        @tenant when tenants are off (403) or malformed, a user moving between tenants,
 *        a return_to that is neither relative nor on its own host (400).
 *        Accepted: records the login with the attributes Metabase would derive, opens a
 *        session (cookie) and answers 302 to return_to.
 *        The Embedding SDK's calls (header `X-Metabase-Client: embedding-sdk-react`), as
 *        Metabase's JWT provider answers them: without a valid `X-Metabase-SDK-JWT-Hash`,
 *        discovery `{url: <JWT Identity Provider URI>, method: "jwt", hash}`; with one and a
 *        jwt, the checks above and then `{status: "ok", id: <session>, exp, iat}` — exp and
 *        iat copied from the JWT (the SDK refreshes when that exp passes).
 *   GET /embed/dashboard/:token, /embed/question/:token   static embeds, embedding secret,
 *        HS256 with the alg header, 60 s leeway on exp, params required, resource matching.
 *        `resource.<kind>` is a positive integer id, or (Pro/Enterprise) a JSON string that
 *        Metabase looks up as an entity ID: 21 characters [A-Za-z0-9_-], else refused; one
 *        it does not know is a 404. A numeric string ("7") is an entity ID lookup too, so it
 *        fails, as in Metabase (eid-translation ->id: strings are entity IDs, ints are ids).
 *   GET /auth/logout   ends the session.
 *   GET anything else  with a session: 200; without: 302 to the IdP URI with return_to
 *        appended raw, NOT url-encoded, exactly as Metabase does.
 */
export interface FakeMetabaseOptions {
  jwtSecret: string;
  embeddingSecret?: string;
  /** Metabase multi-tenancy on: @tenant accepted (else a token carrying it is a 403). */
  tenantsEnabled?: boolean;
  /** "JWT Identity Provider URI": where a visitor without a session is sent. */
  idpUri?: string;
  /** Claim names as configured in Metabase (defaults email, first_name, last_name, groups). */
  claims?: { email?: string; firstName?: string; lastName?: string; groups?: string };
  /**
   * Parameters each embeddable resource takes ('dashboard/7' -> names). When a resource is
   * listed, params must name exactly these (locked params must be set, unknown are rejected).
   */
  embedParams?: Record<string, string[]>;
  /** Entity IDs Metabase knows ('dashboard/<entity id>' -> the numeric id it stands for). */
  entityIds?: Record<string, number>;
  /** The fake's clock, epoch seconds (tests move it to check the iat and exp rules). */
  now?: () => number;
}

export interface MetabaseLogin {
  email: string;
  firstName?: string;
  lastName?: string;
  groups?: string[];
  /** What Metabase stores as user attributes (replaced at each login). */
  attributes: Record<string, string | number | boolean>;
  tenant?: string;
  tenantAttributes?: Record<string, unknown>;
  returnTo: string;
  claims: Record<string, unknown>;
  header: Record<string, unknown>;
}

export interface MetabaseEmbed {
  kind: 'dashboard' | 'question';
  /** The numeric id (an entity ID translated). */
  id: number;
  /** The entity ID the token named, when it named one. */
  entityId?: string;
  params: Record<string, unknown>;
  exp?: number;
  payload: Record<string, unknown>;
}

export interface FakeMetabase {
  url: string;
  logins: MetabaseLogin[];
  embeds: MetabaseEmbed[];
  rejections: { path: string; status: number; reason: string }[];
  /** The Embedding SDK's calls of /auth/sso (discovery, then the exchange with the hash). */
  sdkRequests: { jwt: boolean; hash: boolean; version: string | null }[];
  logouts: number;
  /** Rotates the JWT secret (as an admin would in Metabase's settings). */
  setJwtSecret(secret: string): void;
  close(): Promise<void>;
}

const REGISTERED = ['iss', 'iat', 'sub', 'aud', 'exp', 'nbf', 'jti'];
const TENANT_SLUG = /^[-_a-z0-9]{1,255}$/;
/** Metabase's entity IDs are NanoIDs of 21 URL-safe characters. */
const ENTITY_ID = /^[A-Za-z0-9_-]{21}$/;
const SESSION_COOKIE = 'metabase.SESSION';

class Denied extends Error {
  constructor(
    readonly reason: string,
    readonly status = 401,
  ) {
    super(reason);
  }
}

export async function startFakeMetabase(opts: FakeMetabaseOptions): Promise<FakeMetabase> {
  // Metabase's key is the secret string's UTF-8 bytes (jsonwebtoken takes a string as such).
  let jwtKey = opts.jwtSecret;
  const embedKey = opts.embeddingSecret;
  const names = { email: 'email', firstName: 'first_name', lastName: 'last_name', groups: 'groups', ...opts.claims };
  const now = opts.now ?? (() => Math.floor(Date.now() / 1000));
  const sessions = new Set<string>();
  /** Hashes handed out by the SDK's discovery call (Metabase checks the exchange carries one). */
  const sdkHashes = new Set<string>();
  const tenantOf = new Map<string, string | undefined>();
  const app = express();
  app.disable('x-powered-by');
  let self = '';
  const fake: FakeMetabase = {
    url: '',
    logins: [],
    embeds: [],
    rejections: [],
    sdkRequests: [],
    logouts: 0,
    setJwtSecret(secret) {
      jwtKey = secret;
    },
    close: async () => undefined,
  };

  const refuse = (req: Request, res: Response, e: unknown) => {
    const d = e instanceof Denied ? e : new Denied(verifyReason(e));
    fake.rejections.push({ path: req.path, status: d.status, reason: d.reason });
    res.status(d.status).type('text').send(d.reason);
  };

  app.get('/auth/sso', async (req, res) => {
    try {
      const token = typeof req.query.jwt === 'string' ? req.query.jwt : '';
      const sdk = req.headers['x-metabase-client'] === 'embedding-sdk-react';
      const hash = req.headers['x-metabase-sdk-jwt-hash'];
      if (sdk) {
        fake.sdkRequests.push({ jwt: !!token, hash: typeof hash === 'string', version: requestHeader(req, 'x-metabase-client-version') });
        if (!(token && typeof hash === 'string' && sdkHashes.has(hash))) {
          const issued = randomBytes(16).toString('hex');
          sdkHashes.add(issued);
          res.status(200).json({ url: opts.idpUri ?? null, method: 'jwt', hash: issued });
          return;
        }
      }
      if (!token) throw new Denied('missing jwt', 400);
      // Metabase's JWT provider: HS256 only, the secret's UTF-8 bytes, exp/nbf without leeway.
      const { header, payload } = jwt.verify(token, jwtKey, { algorithms: ['HS256'], clockTolerance: 0, clockTimestamp: now(), complete: true });
      const claims = objectPayload(payload);
      const iat = claims.iat;
      if (iat === undefined) throw new Denied('iat is required');
      if (typeof iat !== 'number' || !Number.isInteger(iat)) throw new Denied('iat must be integer seconds');
      if (now() - iat > 180) throw new Denied('token is older than 180 seconds (iat)');
      const email = claims[names.email];
      if (typeof email !== 'string' || email.trim() === '') throw new Denied('email claim is missing');
      const groups = claims[names.groups];
      if (groups !== undefined && (!Array.isArray(groups) || groups.some((g) => typeof g !== 'string'))) {
        throw new Denied('groups must be an array of strings', 400);
      }
      const tenant = claims['@tenant'];
      const tenantAttributes = claims['@tenant.attributes'];
      if (tenant !== undefined || tenantAttributes !== undefined) {
        if (!opts.tenantsEnabled) throw new Denied('tenants are not enabled on this Metabase', 403);
        if (typeof tenant !== 'string' || !TENANT_SLUG.test(tenant)) throw new Denied('@tenant is not a valid tenant slug', 400);
        if (tenantAttributes !== undefined && (typeof tenantAttributes !== 'object' || tenantAttributes === null || Array.isArray(tenantAttributes))) {
          throw new Denied('@tenant.attributes must be an object', 400);
        }
      }
      const key = email.toLowerCase();
      if (tenantOf.has(key) && tenantOf.get(key) !== tenant) throw new Denied('a user cannot move between tenants', 403);
      const returnTo = checkReturnTo(req.query.return_to, self);

      const identity = new Set([...REGISTERED, names.email, names.firstName, names.lastName, names.groups]);
      const attributes: MetabaseLogin['attributes'] = {};
      for (const [k, v] of Object.entries(claims)) {
        if (identity.has(k) || k.startsWith('@')) continue;
        if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') attributes[k] = v;
      }
      tenantOf.set(key, tenant as string | undefined);
      fake.logins.push({
        email: key,
        firstName: claims[names.firstName] as string | undefined,
        lastName: claims[names.lastName] as string | undefined,
        groups: groups as string[] | undefined,
        attributes,
        tenant: tenant as string | undefined,
        tenantAttributes: tenantAttributes as Record<string, unknown> | undefined,
        returnTo,
        claims,
        header: header as unknown as Record<string, unknown>,
      });
      const sid = randomBytes(16).toString('hex');
      sessions.add(sid);
      if (sdk) {
        res.status(200).json({ status: 'ok', id: sid, exp: claims.exp ?? null, iat: claims.iat });
        return;
      }
      res.setHeader('Set-Cookie', `${SESSION_COOKIE}=${sid}; Path=/; HttpOnly`);
      res.redirect(302, returnTo);
    } catch (e) {
      refuse(req, res, e);
    }
  });

  app.get('/embed/:kind/:token', async (req, res) => {
    try {
      const kind = req.params.kind;
      if (kind !== 'dashboard' && kind !== 'question') throw new Denied('unknown embed kind', 404);
      if (!embedKey) throw new Denied('embedding is not enabled', 400);
      const token = req.params.token;
      // The alg header is required (a header without one is not in `algorithms`) and must be HS256.
      const p = objectPayload(jwt.verify(token, embedKey, { algorithms: ['HS256'], clockTolerance: 60, clockTimestamp: now() }));
      const resource = p.resource as Record<string, unknown> | undefined;
      if (!resource || typeof resource !== 'object') throw new Denied('resource is required', 400);
      const ref = resource[kind];
      let id: number;
      let entityId: string | undefined;
      if (typeof ref === 'string') {
        if (!ENTITY_ID.test(ref)) throw new Denied(`resource.${kind} "${ref}" is not an entity ID (21 characters A-Z a-z 0-9 _ -)`, 400);
        const known = opts.entityIds?.[`${kind}/${ref}`];
        if (known === undefined) throw new Denied(`no ${kind} with entity ID ${ref}`, 404);
        id = known;
        entityId = ref;
      } else if (typeof ref === 'number' && Number.isInteger(ref) && ref > 0) {
        id = ref;
      } else {
        throw new Denied(`resource.${kind} must be an id`, 400);
      }
      if (Object.keys(resource).length !== 1) throw new Denied('resource names one thing', 400);
      const params = p.params;
      if (params === undefined || params === null || typeof params !== 'object' || Array.isArray(params)) {
        throw new Denied('params is required', 400);
      }
      const expected = opts.embedParams?.[`${kind}/${id}`];
      if (expected) {
        for (const k of Object.keys(params)) if (!expected.includes(k)) throw new Denied(`unknown parameter ${k}`, 400);
        for (const k of expected) if (!(k in params)) throw new Denied(`locked parameter ${k} is missing`, 400);
      }
      fake.embeds.push({ kind, id, ...(entityId ? { entityId } : {}), params: params as Record<string, unknown>, exp: p.exp as number | undefined, payload: p });
      res.status(200).type('html').send(`<!doctype html><title>${kind} ${id}</title>`);
    } catch (e) {
      refuse(req, res, e);
    }
  });

  app.get('/auth/logout', (req, res) => {
    const sid = cookieValue(req, SESSION_COOKIE);
    if (sid) sessions.delete(sid);
    fake.logouts += 1;
    res.setHeader('Set-Cookie', `${SESSION_COOKIE}=; Path=/; Max-Age=0`);
    res.status(200).type('html').send('<!doctype html><title>logged out</title>');
  });

  // Every other page: a session shows it; without one Metabase sends the visitor to the IdP,
  // appending return_to WITHOUT encoding it (its contract, README "Metabase").
  app.use((req, res) => {
    const sid = cookieValue(req, SESSION_COOKIE);
    if (sid && sessions.has(sid)) {
      res.status(200).json({ page: req.originalUrl });
      return;
    }
    if (!opts.idpUri) {
      res.status(401).type('text').send('no session');
      return;
    }
    res.setHeader('Location', `${opts.idpUri}${opts.idpUri.includes('?') ? '&' : '?'}return_to=${req.originalUrl}`);
    res.status(302).end();
  });

  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  self = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.url = self;
  fake.close = () =>
    new Promise<void>((resolve, reject) => {
      server.closeAllConnections();
      server.close((err) => (err ? reject(err) : resolve()));
    });
  return fake;
}

/** the product's contract: Metabase accepts return_to only if relative or on its own host (else 400). */
function requestHeader(req: Request, name: string): string | null {
  const v = req.headers[name];
  return typeof v === 'string' ? v : null;
}

function checkReturnTo(raw: unknown, self: string): string {
  if (raw === undefined) return '/';
  if (typeof raw !== 'string') throw new Denied('return_to must be a string', 400);
  if (raw.startsWith('/') && !raw.startsWith('//') && !raw.startsWith('/\\')) return raw;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new Denied('return_to is not a relative path or a URL on this host', 400);
  }
  if (u.host !== new URL(self).host) throw new Denied('return_to is on another host', 400);
  return raw;
}

function cookieValue(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

/** A JWT's payload as Metabase reads it: a JSON object, else the token is refused. */
function objectPayload(payload: unknown): Record<string, unknown> {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) throw new Denied('invalid token: the payload is not a JSON object');
  return payload as Record<string, unknown>;
}

function verifyReason(e: unknown): string {
  if (e instanceof jwt.TokenExpiredError) return 'token expired (exp)';
  if (e instanceof jwt.NotBeforeError) return 'claim check failed: nbf in the future';
  if (e instanceof jwt.JsonWebTokenError) {
    if (e.message === 'invalid algorithm') return 'algorithm not allowed (HS256 only)';
    if (e.message === 'invalid signature') return 'signature verification failed';
    return `invalid token: ${e.message}`;
  }
  return `invalid token: ${e instanceof Error ? e.message : String(e)}`;
}

/**
 * A browser for tests: fetch without following redirects, one cookie jar per origin, so a
 * test can walk the whole redirect dance between the fake and the service and look at each
 * hop.
 */
export class MiniBrowser {
  private readonly jars = new Map<string, CookieJar>();

  jar(origin: string): CookieJar {
    const o = new URL(origin).origin;
    let j = this.jars.get(o);
    if (!j) this.jars.set(o, (j = new CookieJar()));
    return j;
  }

  async get(url: string, headers: Record<string, string> = {}): Promise<Hop> {
    return this.send('GET', url, undefined, headers);
  }

  /**
   * Submits a form as a browser does: POST `fields` as application/x-www-form-urlencoded
   * with this origin's cookies, without following the answer's redirect.
   */
  async post(url: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Hop> {
    return this.send('POST', url, new URLSearchParams(fields).toString(), {
      'content-type': 'application/x-www-form-urlencoded',
      origin: new URL(url).origin,
      ...headers,
    });
  }

  private async send(method: 'GET' | 'POST', url: string, body: string | undefined, headers: Record<string, string>): Promise<Hop> {
    const jar = this.jar(url);
    const cookie = jar.header();
    const res = await fetch(url, {
      method,
      body,
      redirect: 'manual',
      headers: { accept: 'text/html', ...(cookie ? { cookie } : {}), ...headers },
    });
    jar.store(res);
    const text = await res.text();
    const location = res.headers.get('location');
    return { url, status: res.status, location: location ? new URL(location, url).toString() : null, text, headers: res.headers };
  }

  /** GETs `url` and follows redirects (up to `max`), returning every hop. */
  async follow(url: string, max = 10): Promise<Hop[]> {
    const hops: Hop[] = [];
    let next: string | null = url;
    while (next && hops.length < max) {
      const hop: Hop = await this.get(next);
      hops.push(hop);
      next = hop.status >= 300 && hop.status < 400 ? hop.location : null;
    }
    return hops;
  }
}

export interface Hop {
  url: string;
  status: number;
  location: string | null;
  text: string;
  headers: Headers;
}
