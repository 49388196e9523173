import { brokerFetch } from '../broker-fetch';
import { ServiceTokenCache } from '../service-token-cache';
import type { AccessSettings } from '../product-types';
import { badRequest, DomainError } from '../../common/errors';
import { resolveAttribute } from '../attributes';
import { allowListPermits, ArraySchema, ObjectSchema } from '../settings-schema';
import { Broker, BrokerDeps, BrokerRequest, defineTarget, schemas } from '../product-definition';
import { originsOf, settingOr } from '../setup-guide';
import { databricksDemo } from './demo';

/** Every error code the Databricks broker can answer with (besides SsoError's); a product's own codes live in its file. */
export enum DatabricksError {
  DashboardNotAllowed = 'dashboard_not_allowed',
  DashboardNotFound = 'dashboard_not_found',
  DatabricksFailed = 'databricks_failed',
  ExternalValueMissing = 'external_value_missing',
}

/**
 * Databricks AI/BI dashboards, external embedding: a token broker, nothing signed by us.
 * Databricks' contract, the three steps:
 * 1. POST {workspace}/oidc/v1/token, Basic auth (service principal id:secret),
 *    grant_type=client_credentials&scope=all-apis -> access_token (shared, cached).
 * 2. GET {workspace}/api/2.0/lakeview/dashboards/{id}/published/tokeninfo
 *    ?external_viewer_id=..&external_value=.. with that bearer -> {authorization_details, ...}.
 * 3. POST {workspace}/oidc/v1/token, Basic auth, every field of step 2 as-is except
 *    authorization_details (sent as a JSON string), plus grant_type=client_credentials
 *    -> {access_token, expires_in} (3600 when absent): the scoped token for the browser.
 */

/** Renew the shared all-apis token this long before it expires (a mint takes three calls). */
const REFRESH_MARGIN_SECONDS = 60;
/** Databricks' contract: "assume 3600 s when absent". */
const DEFAULT_EXPIRES_IN = 3600;
const DEFAULT_TIMEOUT_MS = 5000;

interface DatabricksSettings {
  workspaceId: string;
  clientId: string;
  requestTimeoutMs?: number;
}
interface DatabricksAccess {
  externalValueAttribute: string;
  dashboards?: string[];
}
const accessOf = (s: AccessSettings): DatabricksAccess => s as unknown as DatabricksAccess;

const STEPS = {
  1: 'step 1 (service principal token)',
  2: 'step 2 (dashboard token info)',
  3: 'step 3 (scoped token)',
} as const;
type Step = keyof typeof STEPS;

/** A 502 naming the failing step; never the secret, the tokens or Databricks' answer body. */
function stepFailed(step: Step, why: string): DomainError {
  return new DomainError(DatabricksError.DatabricksFailed, 502, `Databricks ${STEPS[step]} failed: ${why}`, { step });
}

interface Cached {
  token: string;
  /** Epoch ms after which the token is no longer handed out. */
  renewAt: number;
}

/**
 * One per process. The all-apis token is shared by every mint for a target until shortly
 * before it expires, and fetched once per window even when many requests arrive together
 * (single flight: they await the same promise). Scoped tokens are per user and never kept.
 */
class DatabricksBroker implements Broker {
  private readonly tokens = new ServiceTokenCache<Cached>();

  constructor(private readonly deps: BrokerDeps) {}

  async mint(r: BrokerRequest): Promise<{ body: Record<string, unknown>; expiresIn: number }> {
    const s = r.target.settings as unknown as DatabricksSettings;
    const access = accessOf(r.ctx.access.settings);
    if (!allowListPermits(DASHBOARDS, access.dashboards, r.resourceId)) {
      throw new DomainError(DatabricksError.DashboardNotAllowed, 403, 'Your organization may not embed this dashboard', { dashboardId: r.resourceId });
    }
    // The one resolution order for every product (access > user > tenant; src/products/attributes.ts).
    const externalValue = resolveAttribute(r.ctx, access.externalValueAttribute);
    if (externalValue === undefined) {
      throw badRequest(
        DatabricksError.ExternalValueMissing,
        `external_value comes from attribute "${access.externalValueAttribute}", which neither the access, the user nor the tenant has`,
        { attribute: access.externalValueAttribute },
      );
    }
    const timeoutMs = s.requestTimeoutMs ?? this.deps.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const base = r.target.baseUrl.replace(/\/+$/, '');
    const basic = `Basic ${Buffer.from(`${s.clientId}:${r.secrets.secret}`, 'utf8').toString('base64')}`;

    const cacheKey = this.cacheKey(r.target.id, base, s.clientId, r.secretsVersion);
    const serviceToken = await this.serviceToken(cacheKey, base, basic, timeoutMs);

    // Step 2. Both values url-encoded (URLSearchParams): an external_value like "a&b=c" must
    // not become a second parameter.
    const query = new URLSearchParams({ external_viewer_id: r.viewerId, external_value: String(externalValue) });
    const infoUrl = `${base}/api/2.0/lakeview/dashboards/${encodeURIComponent(r.resourceId)}/published/tokeninfo?${query}`;
    const info = await this.call(2, infoUrl, { method: 'GET', headers: { Authorization: `Bearer ${serviceToken.token}` } }, timeoutMs, (status) => {
      if (status === 404) return new DomainError(DatabricksError.DashboardNotFound, 404, 'No published dashboard with this id in the workspace', { dashboardId: r.resourceId });
      // A revoked or expired service token: drop it so the next request fetches a new one.
      if (status === 401 || status === 403) this.tokens.drop(cacheKey);
      return null;
    });
    if (!Array.isArray(info.authorization_details)) throw stepFailed(2, 'the answer has no authorization_details');

    // Step 3: every field of step 2 as-is, authorization_details as a JSON string.
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    for (const [k, v] of Object.entries(info)) {
      if (k === 'grant_type') continue;
      if (k === 'authorization_details') form.set(k, JSON.stringify(v));
      else form.set(k, typeof v === 'string' ? v : JSON.stringify(v));
    }
    const scoped = await this.call(3, `${base}/oidc/v1/token`, formPost(basic, form), timeoutMs);
    if (typeof scoped.access_token !== 'string' || scoped.access_token === '') throw stepFailed(3, 'the answer has no access_token');
    const expiresIn = positiveInt(scoped.expires_in) ?? DEFAULT_EXPIRES_IN;
    return {
      // What @databricks/aibi-client takes: {instanceUrl, workspaceId, dashboardId, token}.
      body: { instanceUrl: base, workspaceId: s.workspaceId, dashboardId: r.resourceId, token: scoped.access_token, expiresIn },
      expiresIn,
    };
  }

  /**
   * The service token's cache key: everything the token depends on — the workspace it was
   * issued by (a token sent to another host is a leaked credential), the service principal
   * and the secret it was asked with. When a target's key changes (repointed, another
   * client id, a new secret) the old entry is dropped, not merely left unused.
   */
  private cacheKey(targetId: string, base: string, clientId: string, secretsVersion: string): string {
    return this.tokens.keyFor(targetId, [base, clientId, secretsVersion]);
  }

  /** Step 1, cached per workspace, service principal and secret (cacheKey), and single-flight. */
  private async serviceToken(key: string, base: string, basic: string, timeoutMs: number): Promise<Cached> {
    return this.tokens.get(key, async () => {
      const form = new URLSearchParams({ grant_type: 'client_credentials', scope: 'all-apis' });
      const answer = await this.call(1, `${base}/oidc/v1/token`, formPost(basic, form), timeoutMs);
      if (typeof answer.access_token !== 'string' || answer.access_token === '') throw stepFailed(1, 'the answer has no access_token');
      const lifetime = positiveInt(answer.expires_in) ?? DEFAULT_EXPIRES_IN;
      return { token: answer.access_token, renewAt: Date.now() + Math.max(0, lifetime - REFRESH_MARGIN_SECONDS) * 1000 };
    });
  }

  private async call(
    step: Step,
    url: string,
    init: RequestInit,
    timeoutMs: number,
    onStatus: (status: number) => DomainError | null = () => null,
  ): Promise<Record<string, unknown>> {
    const res = await brokerFetch(this.deps.fetch, url, init, timeoutMs, {
      unreachable: 'the workspace could not be reached',
      redirected: (status) => `HTTP ${status}: the workspace answered with a redirect, which is not followed (check the target's base URL)`,
    });
    if ('problem' in res) throw stepFailed(step, res.problem);
    let body: unknown;
    try {
      body = await res.json();
    } catch {
      body = undefined;
    }
    if (!res.ok) {
      const mapped = onStatus(res.status);
      if (mapped) throw mapped;
      throw stepFailed(step, `HTTP ${res.status}`);
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw stepFailed(step, 'the answer is not a JSON object');
    return body as Record<string, unknown>;
  }
}

function formPost(basic: string, form: URLSearchParams): RequestInit {
  return { method: 'POST', headers: { Authorization: basic, 'Content-Type': 'application/x-www-form-urlencoded' }, body: form.toString() };
}

function positiveInt(v: unknown): number | undefined {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : undefined;
}

/** Unset: every dashboard the service principal can see; a list (even an empty one): only those. */
const DASHBOARDS: ArraySchema = {
  type: 'array',
  title: 'Dashboards',
  description: 'When set, only these dashboard ids may be embedded (an empty list: none)',
  maxItems: 500,
  items: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$', 'x-pattern-message': 'a dashboard id' },
  'x-allow-list': { unset: 'all' },
};

const settingsSchema: ObjectSchema = {
  type: 'object',
  properties: {
    workspaceId: {
      type: 'string',
      title: 'Workspace id',
      description: 'The numeric workspace id (the o=<id> in the workspace URL)',
      pattern: '^[0-9]{1,30}$',
      'x-pattern-message': 'the numeric workspace id, as a string',
    },
    clientId: {
      type: 'string',
      title: 'Service principal client id',
      description: 'The service principal\'s application (client) id',
      pattern: '^[A-Za-z0-9-]{1,100}$',
      'x-pattern-message': 'the service principal application id',
    },
    requestTimeoutMs: { type: 'integer', title: 'Timeout per Databricks call (ms)', minimum: 100, maximum: 30000, default: DEFAULT_TIMEOUT_MS },
    allowedOrigins: schemas.allowedOrigins('Origins of host apps fetching dashboard tokens (CORS with credentials; never *)'),
  },
  required: ['workspaceId', 'clientId'],
  additionalProperties: false,
};

const accessSettingsSchema: ObjectSchema = {
  type: 'object',
  properties: {
    externalValueAttribute: {
      type: 'string',
      title: 'external_value attribute',
      description: 'The attribute (access, else user, else tenant) sent as external_value: __aibi_external_value in dashboard SQL',
      maxLength: 100,
      'x-pattern-message': 'an attribute name of 1 to 100 characters',
    },
    dashboards: DASHBOARDS,
  },
  required: ['externalValueAttribute'],
  additionalProperties: false,
};

export const databricks = defineTarget({
  kind: 'databricks',
  label: 'Databricks AI/BI',
  settingsSchema,
  accessSettingsSchema,
  examples: {
    baseUrl: 'https://adb-1234567890123456.7.azuredatabricks.net',
    settings: {
      workspaceId: '1234567890123456',
      clientId: '6f1c2a44-1d1e-4c8e-9d6c-2a8b9c1d0e7f',
      requestTimeoutMs: 5000,
      allowedOrigins: ['https://app.example.com'],
    },
    accessSettings: { externalValueAttribute: 'customer_id', dashboards: ['01ef0a1b2c3d4e5f6a7b8c9d0e1f2a3b'] },
  },
  secrets: [{ name: 'secret', required: true, minLength: 16, description: 'The service principal\'s OAuth secret' }],
  broker: {
    resourceId: /^[A-Za-z0-9_-]{1,64}$/,
    create: (deps) => new DatabricksBroker(deps),
  },
  setupGuide: (t) => ({
    where: 'Databricks: workspace Settings > Security > External embedding',
    items: [
      { label: 'Service principal (application id)', value: settingOr(t, 'clientId', '(set it below)') },
      { label: 'Approved domains', value: originsOf(t) || '(set allowed origins below)' },
      { label: 'OAuth secret', note: 'Create it for the service principal, then paste it into this target\'s secret below.' },
    ],
  }),
  demo: databricksDemo,
});
