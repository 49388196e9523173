import { createSecretKey, KeyObject, randomUUID } from 'node:crypto';
import { decodeJwt, SignJWT } from 'jose';
import type { AccessSettings, TargetSettings } from '../product-types';
import { DomainError } from '../../common/errors';
import { allowListPermits, ArraySchema, NestedObjectSchema, ObjectSchema } from '../settings-schema';
import { Broker, BrokerDeps, BrokerRequest, defineTarget, EmbedContext, schemas } from '../product-definition';
import { fillTemplate, parseTemplate } from './rls';
import { brokerFetch } from '../broker-fetch';
import { ServiceTokenCache } from '../service-token-cache';
import { singleFlight } from '../single-flight';
import { supersetSetupGuide } from './setup-guide';
import { supersetDemo } from './demo';

/**
 * Apache Superset embedded dashboards (`@superset-ui/embedded-sdk`): the host page's
 * `fetchGuestToken` asks us for a guest token for one embedded dashboard. Superset's rules
 * (superset/security/manager.py, superset/security/api.py, superset/security/guest_token.py):
 *
 * - `api` mode: a service account signs in (`POST /api/v1/security/login` with
 *   `{username, password, provider, refresh}` -> `{access_token}`), then
 *   `POST /api/v1/security/guest_token/` with the bearer and
 *   `{user: {username, first_name, last_name}, resources: [{type: "dashboard", id}], rls: [{dataset?, clause}]}`
 *   -> `{token}` (the account needs `can_grant_guest_token`). Flask-WTF may protect that POST:
 *   then it wants `X-CSRFToken` from `GET /api/v1/security/csrf_token/` together with the
 *   session cookie that call set, and (over HTTPS, WTF_CSRF_SSL_STRICT) a same-origin Referer.
 * - `sign` mode: we build the token as create_guest_access_token does —
 *   `{user, resources, rls_rules, iat, exp, aud, type: "guest"}` signed with
 *   GUEST_TOKEN_JWT_SECRET / GUEST_TOKEN_JWT_ALGO; Superset's parse_jwt_guest_token checks the
 *   signature, `exp` and `aud` (GUEST_TOKEN_JWT_AUDIENCE), then requires user, resources,
 *   rls_rules and `type == "guest"`. We add a `jti` (PyJWT ignores it) so the token in the
 *   browser is the one in our ledger.
 */

export enum SupersetError {
  DashboardNotAllowed = 'dashboard_not_allowed',
  SupersetFailed = 'superset_failed',
}

/** Renew the service account's access token this long before it expires. */
const REFRESH_MARGIN_SECONDS = 60;
/** flask-jwt-extended's JWT_ACCESS_TOKEN_EXPIRES default (15 min), when the token carries no exp. */
const DEFAULT_ACCESS_TOKEN_SECONDS = 900;
const DEFAULT_TIMEOUT_MS = 5000;
/** Superset's GUEST_TOKEN_JWT_EXP_SECONDS default. */
const DEFAULT_TTL_SECONDS = 300;
const ALGS = ['HS256', 'HS384', 'HS512'] as const;

export type SupersetMode = 'api' | 'sign';
interface SupersetSettings {
  mode: SupersetMode;
  audience?: string;
  algorithm?: (typeof ALGS)[number];
  tokenTtlSeconds?: number;
  username?: string;
  loginProvider?: 'db' | 'ldap';
  requestTimeoutMs?: number;
}
interface SupersetAccess {
  dashboards?: string[];
  rls?: Record<string, string>;
}
const settingsOf = (s: TargetSettings): SupersetSettings => s as unknown as SupersetSettings;
const accessOf = (s: AccessSettings): SupersetAccess => s as unknown as SupersetAccess;

const STEPS = { login: 'login', csrf: 'CSRF token', guest_token: 'guest token' } as const;
type Step = keyof typeof STEPS;

/** A 502 naming the failing step; never the password, the tokens or Superset's answer body. */
function stepFailed(step: Step, why: string): DomainError {
  return new DomainError(SupersetError.SupersetFailed, 502, `Superset ${STEPS[step]} step (${step}) failed: ${why}`, { step });
}

/** The dashboard uuid Superset shows in its "Embed dashboard" dialog (lower-case, as it stores it). */
export const EMBEDDED_UUID = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

/** What Superset's guest user is made of: the username is the email; names from the user. */
export function guestUser(ctx: Pick<EmbedContext, 'user'>): { username: string; first_name: string; last_name: string } {
  return { username: ctx.user.email, first_name: ctx.user.firstName, last_name: ctx.user.lastName };
}

/** The access's RLS templates filled for this user, as Superset's rls rules (`*`: every dataset). */
export function rlsRules(ctx: EmbedContext): { dataset?: number; clause: string }[] {
  const rules = accessOf(ctx.access.settings).rls ?? {};
  // `*` (every dataset) first, then by dataset id: the same rules, always in one order.
  const order = (k: string) => (k === '*' ? -1 : Number(k));
  return Object.entries(rules).sort(([a], [b]) => order(a) - order(b)).map(([dataset, template]) => {
    const clause = fillTemplate(template, ctx);
    return dataset === '*' ? { clause } : { dataset: Number(dataset), clause };
  });
}

/** The guest token's claims as create_guest_access_token builds them (plus our jti). */
export function guestClaims(r: { ctx: EmbedContext; settings: TargetSettings; dashboard: string; now: number; jti: string }): Record<string, unknown> {
  const s = settingsOf(r.settings);
  return {
    user: guestUser(r.ctx),
    resources: [{ type: 'dashboard', id: r.dashboard }],
    rls_rules: rlsRules(r.ctx),
    iat: r.now,
    exp: r.now + (s.tokenTtlSeconds ?? DEFAULT_TTL_SECONDS),
    aud: s.audience,
    type: 'guest',
    jti: r.jti,
  };
}

interface ServiceSession {
  accessToken: string;
  /** Epoch ms after which the access token is no longer used. */
  renewAt: number;
  /** Set once Superset asked for a CSRF token: sent with every guest-token call from then on. */
  csrf?: { token: string; cookie: string };
}

/**
 * One per process. In `api` mode the service account's access token (and, once Superset
 * has asked for it, its CSRF token and session cookie) is shared by every request for a
 * target until shortly before it expires, fetched once per window even under concurrency
 * (single flight: they await the same promise). Guest tokens are per user and never kept.
 */
class SupersetBroker implements Broker {
  private readonly signingKeys = new Map<string, KeyObject>();
  /** A replaced key takes its target's signing key with it. */
  private readonly sessions = new ServiceTokenCache<ServiceSession>((previous) => this.signingKeys.delete(previous));
  private readonly csrfInflight = new Map<string, Promise<ServiceSession>>();

  constructor(private readonly deps: BrokerDeps) {}

  async mint(r: BrokerRequest): Promise<{ body: Record<string, unknown>; expiresIn: number }> {
    const s = settingsOf(r.target.settings);
    const access = accessOf(r.ctx.access.settings);
    if (!allowListPermits(DASHBOARDS, access.dashboards, r.resourceId)) {
      throw new DomainError(SupersetError.DashboardNotAllowed, 403, 'Your organization may not embed this dashboard', { dashboardId: r.resourceId });
    }
    // Filled before anything is signed or asked of Superset: a missing or unusable attribute
    // refuses the token (400 naming it), never a clause that filters nothing.
    const rls = rlsRules(r.ctx);
    const key = this.cacheKey(r.target.id, r.target.baseUrl, r.secretsVersion, s.username ?? '', s.loginProvider ?? 'db');
    return s.mode === 'sign' ? this.sign(r, key) : this.ask(r, key, rls);
  }

  private async sign(r: BrokerRequest, key: string): Promise<{ body: Record<string, unknown>; expiresIn: number }> {
    const s = settingsOf(r.target.settings);
    const secret = r.secrets.secret;
    if (!secret) throw missingSecret(r, 'secret', 'the GUEST_TOKEN_JWT_SECRET');
    if (!s.audience) throw new DomainError('superset_audience_missing', 409, `Target ${r.target.slug} has no audience (GUEST_TOKEN_JWT_AUDIENCE) set`);
    let k = this.signingKeys.get(key);
    if (!k) {
      // Made once per target and secret: a KeyObject signs without re-deriving the key per token.
      k = createSecretKey(Buffer.from(secret, 'utf8'));
      this.signingKeys.set(key, k);
    }
    // The service passes the ledger's jti and clock, so the token carries what is recorded.
    const now = r.now ?? Math.floor(Date.now() / 1000);
    const claims = guestClaims({ ctx: r.ctx, settings: r.target.settings, dashboard: r.resourceId, now, jti: r.jti ?? randomUUID() });
    const token = await new SignJWT(claims).setProtectedHeader({ alg: s.algorithm ?? 'HS256', typ: 'JWT' }).sign(k);
    return { body: { token }, expiresIn: (claims.exp as number) - now };
  }

  private async ask(r: BrokerRequest, key: string, rls: { dataset?: number; clause: string }[]): Promise<{ body: Record<string, unknown>; expiresIn: number }> {
    const s = settingsOf(r.target.settings);
    const { password } = r.secrets;
    const username = s.username;
    if (!username) throw new DomainError('superset_username_missing', 409, `Target ${r.target.slug} has no service account username set`);
    if (!password) throw missingSecret(r, 'password', "the service account's password");
    const base = r.target.baseUrl.replace(/\/+$/, '');
    const timeoutMs = s.requestTimeoutMs ?? this.deps.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const body = JSON.stringify({ user: guestUser(r.ctx), resources: [{ type: 'dashboard', id: r.resourceId }], rls });

    let session = await this.serviceSession(key, base, { username, password, provider: s.loginProvider ?? 'db' }, timeoutMs);
    let answer = await this.guestTokenCall(base, session, body, timeoutMs);
    if (answer.csrfRequired) {
      // Superset asked for a CSRF token (or the one we had expired): fetch it once, retry once.
      // Another request may have fetched one since this one was sent: then that one is used.
      const current = this.sessions.peek(key);
      const fresher = current && current.accessToken === session.accessToken && current.csrf && current.csrf !== session.csrf;
      session = fresher ? current : await this.withCsrf(key, base, session, timeoutMs);
      answer = await this.guestTokenCall(base, session, body, timeoutMs);
    }
    if (answer.status === 401) {
      // A revoked or expired access token: dropped, so the next request signs in again.
      this.sessions.drop(key);
    }
    if (answer.csrfRequired) throw stepFailed('guest_token', `HTTP ${answer.status}: Superset refused the CSRF token`);
    if (answer.status < 200 || answer.status >= 300) {
      throw stepFailed('guest_token', answer.status === 403 ? 'HTTP 403: the service account may not grant guest tokens (can_grant_guest_token) or see this dashboard' : `HTTP ${answer.status}`);
    }
    const token = answer.json?.token;
    if (typeof token !== 'string' || token === '') throw stepFailed('guest_token', 'the answer has no token');
    return { body: { token }, expiresIn: lifetimeOf(token, r.now ?? Math.floor(Date.now() / 1000)) ?? s.tokenTtlSeconds ?? DEFAULT_TTL_SECONDS };
  }

  private async guestTokenCall(base: string, session: ServiceSession, body: string, timeoutMs: number): Promise<{ status: number; json?: Record<string, unknown>; csrfRequired: boolean }> {
    const headers: Record<string, string> = { Authorization: `Bearer ${session.accessToken}`, 'Content-Type': 'application/json', Accept: 'application/json' };
    if (session.csrf) {
      headers['X-CSRFToken'] = session.csrf.token;
      headers.Cookie = session.csrf.cookie;
      // Flask-WTF (WTF_CSRF_SSL_STRICT) wants a same-origin Referer on HTTPS.
      headers.Referer = `${base}/`;
    }
    const res = await this.send('guest_token', `${base}/api/v1/security/guest_token/`, { method: 'POST', headers, body }, timeoutMs);
    const text = await res.text().catch(() => '');
    let json: Record<string, unknown> | undefined;
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) json = parsed as Record<string, unknown>;
    } catch {
      json = undefined;
    }
    // Flask-WTF's CSRFError is a 400 whose description names the CSRF token.
    const csrfRequired = res.status === 400 && /csrf/i.test(text);
    return { status: res.status, json, csrfRequired };
  }

  /** The access token, cached per target, base URL and secrets (cacheKey); single flight. */
  private async serviceSession(key: string, base: string, login: { username: string; password: string; provider: string }, timeoutMs: number): Promise<ServiceSession> {
    return this.sessions.get(key, async () => {
      const res = await this.send('login', `${base}/api/v1/security/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify({ ...login, refresh: false }),
      }, timeoutMs);
      const answer = await objectOf('login', res);
      const accessToken = answer.access_token;
      if (typeof accessToken !== 'string' || accessToken === '') throw stepFailed('login', 'the answer has no access_token');
      const lifetime = lifetimeOf(accessToken, Math.floor(Date.now() / 1000)) ?? DEFAULT_ACCESS_TOKEN_SECONDS;
      return { accessToken, renewAt: Date.now() + Math.max(0, lifetime - REFRESH_MARGIN_SECONDS) * 1000 };
    });
  }

  /** A CSRF token and its session cookie for this access token, kept with it; single flight. */
  private async withCsrf(key: string, base: string, session: ServiceSession, timeoutMs: number): Promise<ServiceSession> {
    return singleFlight(this.csrfInflight, key, async () => {
      const res = await this.send('csrf', `${base}/api/v1/security/csrf_token/`, {
        method: 'GET',
        headers: { Authorization: `Bearer ${session.accessToken}`, Accept: 'application/json' },
      }, timeoutMs);
      const cookie = (res.headers.getSetCookie?.() ?? []).map((c) => c.split(';')[0]).filter((c) => c.includes('=')).join('; ');
      const answer = await objectOf('csrf', res);
      if (typeof answer.result !== 'string' || answer.result === '') throw stepFailed('csrf', 'the answer has no CSRF token (result)');
      const next: ServiceSession = { ...session, csrf: { token: answer.result, cookie } };
      // Only if the access token is still the cached one (a concurrent re-login wins).
      if (this.sessions.peek(key)?.accessToken === session.accessToken) this.sessions.set(key, next);
      return next;
    });
  }

  /**
   * The cache key: everything the service session depends on — the target, the Superset it
   * was issued by (a token sent to another host is a leaked credential), the secrets it
   * was made with and the service account it signed in as (another account, even with the same
   * password, is another session). A changed key drops the old entry, not merely leaves it unused.
   */
  private cacheKey(targetId: string, base: string, secretsVersion: string, username: string, provider: string): string {
    return this.sessions.keyFor(targetId, [base, secretsVersion, username, provider]);
  }

  private async send(step: Step, url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
    const res = await brokerFetch(this.deps.fetch, url, init, timeoutMs, {
      unreachable: 'Superset could not be reached',
      redirected: (status) => `HTTP ${status}: Superset answered with a redirect, which is not followed (check the target's base URL)`,
    });
    if ('problem' in res) throw stepFailed(step, res.problem);
    return res;
  }
}

async function objectOf(step: Step, res: Response): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  if (!res.ok) throw stepFailed(step, `HTTP ${res.status}`);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw stepFailed(step, 'the answer is not a JSON object');
  return body as Record<string, unknown>;
}

/** Seconds until a JWT's exp (read, not verified: only to know when to renew), if it has one. */
function lifetimeOf(jwt: string, now: number): number | undefined {
  try {
    const { exp } = decodeJwt(jwt);
    return typeof exp === 'number' && exp > now ? Math.floor(exp - now) : undefined;
  } catch {
    return undefined;
  }
}

function missingSecret(r: BrokerRequest, name: string, what: string): DomainError {
  return new DomainError(`target_${name}_missing`, 409, `Target ${r.target.slug} has no ${name} (${what}) set`);
}

/** Unset: no dashboard (the service account or the secret could open any); a list: only those. */
const DASHBOARDS: ArraySchema = {
  type: 'array',
  title: 'Embedded dashboards',
  description: 'The embedded dashboard uuids (Superset: dashboard > Embed dashboard) this tenant may show; none when unset',
  maxItems: 500,
  items: { type: 'string', pattern: EMBEDDED_UUID, 'x-pattern-message': 'an embedded dashboard uuid (lower-case, as Superset shows it)' },
  'x-allow-list': { unset: 'none' },
};

const RLS: NestedObjectSchema = {
  type: 'object',
  title: 'Row-level security',
  description: 'Dataset id (or * for every dataset) = SQL clause; {attribute} becomes that attribute as a SQL literal, e.g. * = customer_id = {customer_id}',
  additionalProperties: { type: 'string', maxLength: 2000 },
  'x-key-pattern': '^(\\*|[1-9][0-9]{0,9})$',
  'x-key-message': 'a Superset dataset id (a number) or * for every dataset',
  maxProperties: 50,
};

const settingsSchema: ObjectSchema = {
  type: 'object',
  properties: {
    mode: {
      type: 'string',
      title: 'Mode',
      description: 'api: ask Superset for each guest token with a service account; sign: sign guest tokens with GUEST_TOKEN_JWT_SECRET',
      enum: ['api', 'sign'],
    },
    audience: {
      type: 'string',
      title: 'Audience (sign mode)',
      description: "Superset's GUEST_TOKEN_JWT_AUDIENCE, exactly",
      maxLength: 300,
    },
    algorithm: { type: 'string', title: 'Algorithm (sign mode)', description: "Superset's GUEST_TOKEN_JWT_ALGO (default HS256)", enum: [...ALGS] },
    tokenTtlSeconds: {
      type: 'integer',
      title: 'Guest token lifetime (s, sign mode)',
      description: "Superset's GUEST_TOKEN_JWT_EXP_SECONDS; the SDK fetches a new token before it ends",
      minimum: 30,
      maximum: 3600,
      default: DEFAULT_TTL_SECONDS,
    },
    username: {
      type: 'string',
      title: 'Service account username (api mode)',
      description: 'The Superset user whose role has can_grant_guest_token; its password is a secret',
      maxLength: 256,
    },
    loginProvider: { type: 'string', title: 'Login provider (api mode)', description: 'How the service account signs in: db (default) or ldap', enum: ['db', 'ldap'] },
    requestTimeoutMs: { type: 'integer', title: 'Timeout per Superset call (ms, api mode)', minimum: 100, maximum: 30000, default: DEFAULT_TIMEOUT_MS },
    allowedOrigins: schemas.allowedOrigins('Origins of host apps fetching guest tokens (CORS with credentials; never *)'),
  },
  required: ['mode'],
  additionalProperties: false,
};

const accessSettingsSchema: ObjectSchema = {
  type: 'object',
  properties: { dashboards: DASHBOARDS, rls: RLS },
  additionalProperties: false,
};

export const superset = defineTarget({
  kind: 'superset',
  label: 'Apache Superset',
  settingsSchema,
  accessSettingsSchema,
  examples: {
    baseUrl: 'https://superset.example.com',
    settings: {
      mode: 'sign',
      audience: 'superset',
      algorithm: 'HS256',
      tokenTtlSeconds: 300,
      username: 'embed-idp',
      loginProvider: 'db',
      requestTimeoutMs: 5000,
      allowedOrigins: ['https://app.example.com'],
    },
    accessSettings: { dashboards: ['9c1f6a52-3b7e-4d8a-a1c2-5e6f7a8b9c0d'], rls: { '*': 'customer_id = {customer_id}', '12': "region = {region} AND status <> 'deleted'" } },
  },
  secrets: [
    { name: 'secret', required: false, minLength: 32, description: "Superset's GUEST_TOKEN_JWT_SECRET (sign mode)" },
    // The username is a setting: it is no secret, and it is shown in the setup guide.
    { name: 'password', required: false, minLength: 16, description: "The service account's password (api mode)" },
  ],
  checkSettings(settings) {
    const s = settingsOf(settings);
    if (s.mode === 'sign' && !s.audience) return ['settings.audience is required in sign mode: the GUEST_TOKEN_JWT_AUDIENCE of superset_config.py'];
    if (s.mode === 'api' && !s.username) return ["settings.username is required in api mode: the Superset service account's username"];
    return [];
  },
  checkAccessSettings(settings) {
    const problems: string[] = [];
    const rls = accessOf(settings).rls;
    if (rls && typeof rls === 'object') {
      for (const [dataset, template] of Object.entries(rls)) {
        if (typeof template !== 'string') continue;
        const parsed = parseTemplate(template);
        if ('problem' in parsed) problems.push(`settings.rls (${dataset === '*' ? 'every dataset' : `dataset ${dataset}`}): the clause ${parsed.problem}`);
      }
    }
    return problems;
  },
  broker: {
    resourceId: new RegExp(EMBEDDED_UUID),
    endpoint: 'guest-token',
    create: (deps) => new SupersetBroker(deps),
    // Sign mode: the guest token's claims; api mode: the body of the guest_token call.
    preview: (ctx) => {
      if (settingsOf(ctx.target.settings).mode === 'sign') return guestClaims({ ctx, settings: ctx.target.settings, dashboard: '(the embedded dashboard uuid)', now: ctx.iat ?? Math.floor(Date.now() / 1000), jti: ctx.jti ?? '(assigned when issued)' });
      return { user: guestUser(ctx), resources: [{ type: 'dashboard', id: '(the embedded dashboard uuid)' }], rls: rlsRules(ctx) };
    },
  },
  setupGuide: supersetSetupGuide,
  demo: supersetDemo,
});
