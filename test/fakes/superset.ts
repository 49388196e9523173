import express, { NextFunction, Request, Response } from 'express';
import jwt from 'jsonwebtoken';
import { createSecretKey, randomBytes, randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake Apache Superset with embedded dashboards (EMBEDDED_SUPERSET on), refusing what
 * Superset refuses (superset/security/manager.py, security/api.py, embedded/view.py),
 * guest tokens checked with jsonwebtoken (an independent library, not the code that mints
 * ours):
 *
 *   POST /api/v1/security/login        {username, password, provider: db|ldap, refresh?}
 *        -> {access_token} (a JWT with exp); wrong credentials 401.
 *   GET  /api/v1/security/csrf_token/  Bearer -> {result}, and Set-Cookie: session=..
 *   POST /api/v1/security/guest_token/ Bearer (401 without a valid one); with `csrf` on,
 *        X-CSRFToken equal to the token of the session cookie sent (Flask-WTF: 400 "The CSRF
 *        token is missing." otherwise); body {user, resources: [{type: dashboard, id}],
 *        rls: [{dataset?: int, clause}]} and nothing else (marshmallow: 400), every resource
 *        an embedded dashboard (400 otherwise) -> {token}, minted as create_guest_access_token.
 *   GET  /embedded/:uuid               404 unless embedded; 403 unless the Referer is one of
 *        the dashboard's allowed domains (when it has any). A page that takes the port the
 *        SDK transfers (`__embedded_comms__`, `port transfer`), receives the Switchboard
 *        `guestToken` emit and calls:
 *   GET  /api/v1/dashboard/:uuid       X-GuestToken: the token as parse_jwt_guest_token and
 *        get_guest_user_from_request check it (signature with GUEST_TOKEN_JWT_SECRET and
 *        GUEST_TOKEN_JWT_ALGO, exp, aud, iat not in the future, user, resources, rls_rules,
 *        type "guest") and has_guest_access (the dashboard among the resources) -> 200
 *        {result, guest}; 401 with the reason otherwise.
 * Counts every call per step; `fail` and `delayMs` make a step err or stall on demand.
 */
export type SupersetStep = 'login' | 'csrf' | 'guest_token';

export interface FakeSupersetOptions {
  /** GUEST_TOKEN_JWT_SECRET */
  guestTokenSecret: string;
  /** GUEST_TOKEN_JWT_AUDIENCE */
  audience: string;
  /** GUEST_TOKEN_JWT_ALGO (HS256 by default, as Superset) */
  algorithm?: 'HS256' | 'HS384' | 'HS512';
  /** GUEST_TOKEN_JWT_EXP_SECONDS for the tokens the API mints (300, as Superset). */
  expSeconds?: number;
  /** Embedded dashboards: uuid -> allowed domains (empty: any). */
  dashboards: Record<string, string[]>;
  /** The service account (api mode). */
  username?: string;
  password?: string;
  /** Flask-WTF protects the guest_token POST (WTF_CSRF_ENABLED, not exempted). */
  csrf?: boolean;
  /** Lifetime of login access tokens (s); flask-jwt-extended's default is 900. */
  accessTokenTtl?: number;
  now?: () => number;
}

export interface GuestView {
  dashboard: string;
  claims: Record<string, unknown>;
}

export interface FakeSuperset {
  url: string;
  calls: Record<SupersetStep, number>;
  /** Bodies the guest_token endpoint accepted. */
  guestTokenRequests: Record<string, unknown>[];
  /** Dashboards opened with a guest token, and the token's claims. */
  views: GuestView[];
  rejections: { step: string; reason: string }[];
  fail: Partial<Record<SupersetStep, number>>;
  delayMs: Partial<Record<SupersetStep, number>>;
  /** Revoke every access token issued so far (a re-login is needed). */
  revokeAccessTokens(): void;
  /** Forget every CSRF session (as a Superset restart with a new SECRET_KEY would). */
  expireCsrf(): void;
  /** parse_jwt_guest_token + get_guest_user_from_request's checks. */
  verifyGuestToken(token: string, dashboard?: string): { ok: true; claims: Record<string, unknown> } | { ok: false; reason: string };
  close(): Promise<void>;
}

const SKEW = 0;

export async function startFakeSuperset(o: FakeSupersetOptions): Promise<FakeSuperset> {
  const now = o.now ?? (() => Math.floor(Date.now() / 1000));
  const algorithm = o.algorithm ?? 'HS256';
  // A KeyObject made once: jsonwebtoken re-derives a string secret at every call (the fake
  // also serves the products benchmark, where it must not be the bottleneck).
  const guestKey = createSecretKey(Buffer.from(o.guestTokenSecret, 'utf8'));
  // The key flask-jwt-extended signs access tokens with (Superset's SECRET_KEY).
  const appSecret = randomBytes(32).toString('hex');
  const accessTokens = new Set<string>();
  const csrfSessions = new Map<string, string>();

  function verifyGuestToken(token: string, dashboard?: string): ReturnType<FakeSuperset['verifyGuestToken']> {
    const no = (reason: string) => ({ ok: false as const, reason });
    let p: Record<string, unknown>;
    try {
      p = jwt.verify(token, guestKey, { algorithms: [algorithm], audience: o.audience, clockTimestamp: now(), clockTolerance: SKEW }) as Record<string, unknown>;
    } catch (e) {
      return no(`invalid guest token: ${(e as Error).message}`);
    }
    // PyJWT: an iat in the future is "The token is not yet valid (iat)".
    if (typeof p.iat === 'number' && p.iat > now() + SKEW) return no('The token is not yet valid (iat)');
    if (p.user == null) return no('Guest token does not contain a user claim');
    if (p.resources == null) return no('Guest token does not contain a resources claim');
    if (p.rls_rules == null) return no('Guest token does not contain an rls_rules claim');
    if (p.type !== 'guest') return no('This is not a guest token.');
    if (!Array.isArray(p.resources) || !Array.isArray(p.rls_rules)) return no('resources and rls_rules must be lists');
    if (dashboard !== undefined && !p.resources.some((r) => (r as Record<string, unknown>)?.type === 'dashboard' && String((r as Record<string, unknown>).id) === dashboard)) {
      return no('the guest token does not grant this dashboard');
    }
    return { ok: true, claims: p };
  }

  const fake: FakeSuperset = {
    url: '',
    calls: { login: 0, csrf: 0, guest_token: 0 },
    guestTokenRequests: [],
    views: [],
    rejections: [],
    fail: {},
    delayMs: {},
    revokeAccessTokens: () => accessTokens.clear(),
    expireCsrf: () => csrfSessions.clear(),
    verifyGuestToken,
    close: async () => undefined,
  };

  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '100kb' }));

  /** Counts the call, then applies `delayMs` / `fail` for the step. */
  const step = (name: SupersetStep) => async (_req: Request, res: Response, next: NextFunction) => {
    fake.calls[name] += 1;
    const delay = fake.delayMs[name];
    if (delay) await new Promise((r) => setTimeout(r, delay));
    const status = fake.fail[name];
    if (status) {
      res.status(status).json({ message: `fake failure of ${name}` });
      return;
    }
    next();
  };
  const refuse = (res: Response, stepName: string, status: number, reason: string, body: Record<string, unknown> = { message: reason }) => {
    fake.rejections.push({ step: stepName, reason });
    res.status(status).json(body);
  };
  /** flask-jwt-extended: a bearer token Superset issued and that has not expired. */
  const bearer = (req: Request): string | null => {
    const m = /^Bearer (.+)$/.exec(req.get('authorization') ?? '');
    if (!m || !accessTokens.has(m[1])) return null;
    try {
      jwt.verify(m[1], appSecret, { algorithms: ['HS256'], clockTimestamp: now() });
      return m[1];
    } catch {
      return null;
    }
  };
  const cookieOf = (req: Request, name: string): string | undefined =>
    (req.get('cookie') ?? '').split(';').map((c) => c.trim().split('=')).find(([k]) => k === name)?.slice(1).join('=');

  app.post('/api/v1/security/login', step('login'), (req, res) => {
    const b = req.body as Record<string, unknown>;
    if (!b || typeof b.username !== 'string' || typeof b.password !== 'string') return refuse(res, 'login', 400, 'username and password are required');
    if (b.provider !== 'db' && b.provider !== 'ldap') return refuse(res, 'login', 400, 'provider must be db or ldap');
    if (b.username !== o.username || b.password !== o.password) return refuse(res, 'login', 401, 'Not authorized');
    const ttl = o.accessTokenTtl ?? 900;
    const iat = now();
    const access_token = jwt.sign({ sub: b.username, type: 'access', fresh: true, jti: randomUUID(), iat, nbf: iat, exp: iat + ttl }, appSecret, { algorithm: 'HS256' });
    accessTokens.add(access_token);
    res.json({ access_token });
  });

  app.get('/api/v1/security/csrf_token/', step('csrf'), (req, res) => {
    if (!bearer(req)) return refuse(res, 'csrf', 401, 'Token has expired or is not valid', { msg: 'Not authorized' });
    const session = randomBytes(16).toString('hex');
    const token = randomBytes(20).toString('hex');
    csrfSessions.set(session, token);
    res.cookie('session', session, { httpOnly: true, path: '/' }).json({ result: token });
  });

  app.post('/api/v1/security/guest_token/', step('guest_token'), (req, res) => {
    if (!bearer(req)) return refuse(res, 'guest_token', 401, 'Token has expired or is not valid', { msg: 'Not authorized' });
    if (o.csrf) {
      const session = cookieOf(req, 'session');
      const expected = session ? csrfSessions.get(session) : undefined;
      const sent = req.get('x-csrftoken');
      if (!sent) return refuse(res, 'guest_token', 400, 'The CSRF token is missing.', { errors: [{ message: '400 Bad Request: The CSRF token is missing.' }] });
      if (!expected) return refuse(res, 'guest_token', 400, 'The CSRF session token is missing.', { errors: [{ message: '400 Bad Request: The CSRF session token is missing.' }] });
      if (sent !== expected) return refuse(res, 'guest_token', 400, 'The CSRF tokens do not match.', { errors: [{ message: '400 Bad Request: The CSRF tokens do not match.' }] });
    }
    const problem = guestTokenBodyProblem(req.body, o.dashboards);
    if (problem) return refuse(res, 'guest_token', 400, problem);
    const b = req.body as { user: Record<string, unknown>; resources: unknown[]; rls?: unknown[] };
    fake.guestTokenRequests.push(b);
    const iat = now();
    const token = jwt.sign(
      { user: b.user, resources: b.resources, rls_rules: b.rls ?? [], iat, exp: iat + (o.expSeconds ?? 300), aud: o.audience, type: 'guest' },
      guestKey,
      { algorithm },
    );
    res.json({ token });
  });

  app.get('/embedded/:uuid', (req, res) => {
    const uuid = String(req.params.uuid);
    const domains = o.dashboards[uuid];
    if (!domains) return refuse(res, 'embedded', 404, 'not an embedded dashboard');
    // embedded/view.py: the Referer must be same-origin with one of the allowed domains.
    const referrer = req.get('referer');
    const origin = (() => {
      try {
        return referrer ? new URL(referrer).origin : null;
      } catch {
        return null;
      }
    })();
    if (domains.length && !domains.some((d) => new URL(d).origin === origin)) return refuse(res, 'embedded', 403, `referrer ${origin ?? 'missing'} not in the allowed domains`);
    res.type('html').send(embeddedPage(uuid));
  });

  app.get('/api/v1/dashboard/:uuid', (req, res) => {
    const uuid = String(req.params.uuid);
    const token = req.get('x-guesttoken');
    if (!token) return refuse(res, 'dashboard', 401, 'no guest token');
    const checked = verifyGuestToken(token, uuid);
    if (!checked.ok) return refuse(res, 'dashboard', 401, checked.reason);
    fake.views.push({ dashboard: uuid, claims: checked.claims });
    res.json({ result: { id: uuid, dashboard_title: `Fake dashboard ${uuid.slice(0, 8)}` }, guest: { user: checked.claims.user, rls_rules: checked.claims.rls_rules } });
  });

  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () => new Promise((resolve) => server.close(() => resolve()));
  return fake;
}

/** GuestTokenCreateSchema (marshmallow: unknown fields raise) and validate_guest_token_resources. */
function guestTokenBodyProblem(body: unknown, dashboards: Record<string, string[]>): string | null {
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObj(body)) return 'body must be a JSON object';
  const unknown = Object.keys(body).filter((k) => !['user', 'resources', 'rls'].includes(k));
  if (unknown.length) return `Unknown field: ${unknown.join(', ')}`;
  if (!isObj(body.user)) return 'user: Missing data for required field.';
  for (const [k, v] of Object.entries(body.user)) {
    if (!['username', 'first_name', 'last_name'].includes(k)) return `user.${k}: Unknown field.`;
    if (typeof v !== 'string') return `user.${k}: Not a valid string.`;
  }
  if (!Array.isArray(body.resources) || body.resources.length === 0) return 'resources: Missing data for required field.';
  for (const r of body.resources) {
    if (!isObj(r) || r.type !== 'dashboard') return 'resources.type: Must be one of: dashboard.';
    if (typeof r.id !== 'string') return 'resources.id: Not a valid string.';
    if (!dashboards[r.id]) return `Dashboard ${r.id} is not embedded`;
  }
  if (body.rls !== undefined) {
    if (!Array.isArray(body.rls)) return 'rls: Not a valid list.';
    for (const rule of body.rls) {
      if (!isObj(rule) || typeof rule.clause !== 'string') return 'rls.clause: Missing data for required field.';
      if (rule.dataset !== undefined && !Number.isInteger(rule.dataset)) return 'rls.dataset: Not a valid integer.';
      const extra = Object.keys(rule).filter((k) => k !== 'clause' && k !== 'dataset');
      if (extra.length) return `rls.${extra[0]}: Unknown field.`;
    }
  }
  return null;
}

/**
 * What Superset's embedded page does with the SDK, reduced: take the MessagePort the parent
 * transfers, wait for the `guestToken` emit (Switchboard: {switchboardAction: 'emit', method,
 * args}), then load the dashboard with the token in X-GuestToken and show who Superset sees.
 */
function embeddedPage(uuid: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Fake Superset</title></head>
<body style="font-family:sans-serif;margin:1.5rem">
<h2>Fake Superset dashboard</h2><p id="state">waiting for the SDK</p><pre id="rls"></pre>
<script>
const uuid = ${JSON.stringify(uuid)};
const state = document.getElementById('state');
window.addEventListener('message', (event) => {
  const d = event.data;
  if (!d || d.type !== '__embedded_comms__' || d.handshake !== 'port transfer' || !event.ports[0]) return;
  const port = event.ports[0];
  state.textContent = 'port received';
  port.onmessage = async (m) => {
    const msg = m.data;
    if (!msg || msg.switchboardAction !== 'emit' || msg.method !== 'guestToken') return;
    const res = await fetch('/api/v1/dashboard/' + uuid, { headers: { 'X-GuestToken': msg.args.guestToken } });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) { state.textContent = 'refused: ' + (body.message || res.status); state.dataset.state = 'refused'; return; }
    state.textContent = 'guest ' + body.guest.user.username + ' sees ' + body.result.dashboard_title;
    state.dataset.state = 'loaded';
    document.getElementById('rls').textContent = body.guest.rls_rules.map((r) => (r.dataset ? r.dataset + ': ' : '') + r.clause).join('\\n');
  };
});
</script></body></html>`;
}
