import { brokerFetch } from '../broker-fetch';
import { ServiceTokenCache } from '../service-token-cache';
import { singleFlight } from '../single-flight';
import type { AccessSettings, TargetSettings } from '../product-types';
import { DomainError } from '../../common/errors';
import { mapGroups } from '../claims';
import { allowListPermits, ArraySchema, ObjectSchema } from '../settings-schema';
import { Broker, BrokerDeps, BrokerMint, BrokerRequest, defineTarget, MintContext, schemas } from '../product-definition';
import { originsOf, settingOr } from '../setup-guide';
import { powerbiDemo } from './demo';

/** Every error code the Power BI broker can answer with (besides SsoError's). */
export enum PowerBiError {
  ReportNotAllowed = 'report_not_allowed',
  ReportNotFound = 'report_not_found',
  RolesMissing = 'powerbi_roles_missing',
  PowerBiFailed = 'powerbi_failed',
}

/**
 * Power BI Embedded, "embed for your customers" (app owns data): a token broker, nothing
 * signed by us. Microsoft's contract (learn.microsoft.com, "Embed Power BI content with
 * service principal and an application secret", REST API "Embed Token - Generate Token"):
 * 1. POST {authority}/{tenantId}/oauth2/v2.0/token, client credentials (client_id,
 *    client_secret, scope https://analysis.windows.net/powerbi/api/.default)
 *    -> {access_token, expires_in}: the service principal's Entra token (shared, cached).
 * 2. GET {api}/v1.0/myorg/groups/{workspaceId}/reports/{reportId} with that bearer
 *    -> {id, embedUrl, datasetId, ...} (cached briefly: it changes only when the report does).
 * 3. POST {api}/v1.0/myorg/GenerateToken (the multi-resource V2 request Microsoft recommends)
 *    {reports: [{id}], datasets: [{id}], identities?: [{username, roles, datasets}],
 *    lifetimeInMinutes?} -> {token, tokenId, expiration}: the embed token for the browser.
 *    No `allowEdit`: the token only views (V2 has no accessLevel; a report is view-only
 *    unless allowEdit is set).
 */

export const POWERBI_SCOPE = 'https://analysis.windows.net/powerbi/api/.default';
export const DEFAULT_AUTHORITY_HOST = 'https://login.microsoftonline.com';
export const DEFAULT_API_HOST = 'https://api.powerbi.com';
/** Renew the shared Entra token this long before it expires (a mint takes up to two more calls). */
const REFRESH_MARGIN_SECONDS = 120;
/** Entra's client-credentials tokens live 60–90 minutes; assume the short end when unsaid. */
const DEFAULT_EXPIRES_IN = 3600;
const DEFAULT_TIMEOUT_MS = 5000;
/** Report metadata (embedUrl, datasetId) is reused this long: a rebind shows up within a minute. */
const REPORT_CACHE_MS = 60_000;
const REPORT_CACHE_MAX = 2000;

const GUID = '[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}';
const GUID_RE = new RegExp(`^${GUID}$`);

interface PowerBiSettings {
  tenantId: string;
  clientId: string;
  workspaceId: string;
  authorityHost?: string;
  apiHost?: string;
  tokenLifetimeMinutes?: number;
  requestTimeoutMs?: number;
}
interface PowerBiAccess {
  reports?: string[];
  rowLevelSecurity?: boolean;
}
const accessOf = (s: AccessSettings): PowerBiAccess => s as unknown as PowerBiAccess;
const hostOf = (v: string | undefined, def: string) => (v ?? def).replace(/\/+$/, '');
/** GUIDs compare case-insensitively; anything but a list (a corrupted row) is passed on as it is, and allows nothing. */
const lowerCased = (list: unknown): unknown => (Array.isArray(list) ? list.map((x) => (typeof x === 'string' ? x.toLowerCase() : x)) : list);

const STEPS = {
  1: 'step 1 (Entra token)',
  2: 'step 2 (report lookup)',
  3: 'step 3 (GenerateToken)',
} as const;
type Step = keyof typeof STEPS;

/**
 * Row-level security: the roles are the user's groups mapped through the access. No role is
 * refused: Power BI refuses an identity without roles on a dataset with RLS, and the identity
 * must never be left out instead (without it an RLS dataset would not filter).
 */
function rlsRoles(ctx: Pick<MintContext, 'access' | 'groups'>, reportId?: string): { rls: boolean; roles: string[] } {
  const rls = accessOf(ctx.access.settings).rowLevelSecurity === true;
  const roles = rls ? mapGroups(ctx.groups, ctx.access.groupMappings) : [];
  if (rls && roles.length === 0) {
    throw new DomainError(PowerBiError.RolesMissing, 403, 'None of your groups maps to a Power BI role for this report', reportId ? { reportId } : undefined);
  }
  return { rls, roles };
}

/** A 502 naming the failing step; never the secret, a token or Microsoft's free text. */
function stepFailed(step: Step, why: string): DomainError {
  return new DomainError(PowerBiError.PowerBiFailed, 502, `Power BI ${STEPS[step]} failed: ${why}`, { step });
}

/**
 * What of an error answer may be repeated: Entra's `error` code (RFC 6749 §5.2: a fixed
 * vocabulary), its AADSTS number, and Power BI's `error.code` — each only in its known shape.
 * `error_description` and `message` are free text that may echo what was sent: never passed on.
 */
function errorWords(body: unknown): string {
  if (typeof body !== 'object' || body === null) return '';
  const b = body as Record<string, unknown>;
  const parts: string[] = [];
  if (typeof b.error === 'string' && /^[a-z_]{1,40}$/.test(b.error)) parts.push(b.error);
  const aadsts = typeof b.error_description === 'string' ? /\bAADSTS\d{4,8}\b/.exec(b.error_description)?.[0] : undefined;
  if (aadsts) parts.push(aadsts);
  const code = typeof b.error === 'object' && b.error !== null ? (b.error as Record<string, unknown>).code : undefined;
  if (typeof code === 'string' && /^[A-Za-z_.]{1,60}$/.test(code)) parts.push(code);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}

/** Our words for what Entra says most often, so the operator knows what to fix. */
function entraHint(status: number, body: unknown): string {
  const error = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).error : undefined;
  if (error === 'invalid_client' || error === 'unauthorized_client') return ': Entra refused the client id or secret (check both, and the secret\'s expiry)';
  if (error === 'invalid_request' && status === 400) return ': check the Entra tenant id';
  return '';
}

interface CachedToken {
  token: string;
  /** Epoch ms after which the token is no longer handed out. */
  renewAt: number;
}
interface CachedReport {
  embedUrl: string;
  datasetId: string;
  until: number;
}

/**
 * One per process. The Entra token is shared by every mint for a target until shortly before
 * it expires and fetched once per window even when many requests arrive together (single
 * flight: they await the same promise). Report metadata is reused for a minute. Embed tokens
 * are per user and never kept.
 */
class PowerBiBroker implements Broker {
  private readonly reports = new Map<string, CachedReport>();
  /** A replaced Entra token takes its target's cached reports with it. */
  private readonly tokens = new ServiceTokenCache<CachedToken>((previous) => {
    for (const k of this.reports.keys()) if (k.startsWith(`${previous}\n`)) this.reports.delete(k);
  });
  private readonly reportsInflight = new Map<string, Promise<CachedReport>>();

  constructor(private readonly deps: BrokerDeps) {}

  async mint(r: BrokerRequest): Promise<BrokerMint> {
    const s = r.target.settings as unknown as PowerBiSettings;
    const access = accessOf(r.ctx.access.settings);
    const reportId = r.resourceId.toLowerCase();
    if (!allowListPermits(REPORTS, lowerCased(access.reports), reportId)) {
      throw new DomainError(PowerBiError.ReportNotAllowed, 403, 'Your organization may not embed this report', { reportId });
    }
    const { rls, roles } = rlsRoles(r.ctx, reportId);
    const timeoutMs = s.requestTimeoutMs ?? this.deps.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const authority = hostOf(s.authorityHost, DEFAULT_AUTHORITY_HOST);
    const api = hostOf(s.apiHost, DEFAULT_API_HOST);

    const key = this.cacheKey(r.target.id, authority, api, s.tenantId, s.clientId, r.secretsVersion);
    const entra = await this.entraToken(key, authority, s, r.secrets.secret, timeoutMs);
    const bearer = { Authorization: `Bearer ${entra.token}` };
    // A revoked or expired Entra token: dropped, so the next request fetches a new one.
    const dropOnAuth = (status: number) => {
      if (status === 401 || status === 403) this.tokens.drop(key);
    };

    const report = await this.report(key, api, s.workspaceId, reportId, r.target.baseUrl, bearer, timeoutMs, dropOnAuth);

    const body: Record<string, unknown> = {
      reports: [{ id: reportId }],
      datasets: [{ id: report.datasetId }],
      ...(rls ? { identities: [{ username: r.ctx.user.email, roles, datasets: [report.datasetId] }] } : {}),
      ...(s.tokenLifetimeMinutes ? { lifetimeInMinutes: s.tokenLifetimeMinutes } : {}),
    };
    const minted = await this.call(
      3,
      `${api}/v1.0/myorg/GenerateToken`,
      { method: 'POST', headers: { ...bearer, 'Content-Type': 'application/json' }, body: JSON.stringify(body) },
      timeoutMs,
      (status) => {
        dropOnAuth(status);
        return null;
      },
    );
    if (typeof minted.token !== 'string' || minted.token === '') throw stepFailed(3, 'the answer has no token');
    // The token's id is what the ledger records as its jti (Power BI's own id for it, a GUID).
    if (typeof minted.tokenId !== 'string' || !GUID_RE.test(minted.tokenId)) throw stepFailed(3, 'the answer has no tokenId (a GUID)');
    const expiration = typeof minted.expiration === 'string' ? Date.parse(minted.expiration) : NaN;
    const expiresIn = Math.floor((expiration - Date.now()) / 1000);
    if (!Number.isFinite(expiresIn) || expiresIn <= 0) throw stepFailed(3, 'the answer has no future expiration');
    const tokenId = minted.tokenId.toLowerCase();
    return {
      // What powerbi-client's embed configuration takes: accessToken (tokenType Embed), embedUrl, id.
      body: { token: minted.token, tokenId, expiresAt: new Date(expiration).toISOString(), embedUrl: report.embedUrl, reportId },
      expiresIn,
      jti: tokenId,
      audit: { rowLevelSecurity: rls, ...(rls ? { roles } : {}), datasetId: report.datasetId },
    };
  }

  /**
   * The Entra token's cache key: everything the token depends on — the authority it came from
   * and the API it is sent to (a token sent to another host is a leaked credential), the
   * Entra tenant, the app and the secret it was asked with. When a target's key changes the
   * old entry is dropped, not merely left unused.
   */
  private cacheKey(targetId: string, authority: string, api: string, tenantId: string, clientId: string, secretsVersion: string): string {
    return this.tokens.keyFor(targetId, [authority, api, tenantId, clientId, secretsVersion]);
  }

  /** Step 1, cached per key (cacheKey) and single-flight. */
  private async entraToken(key: string, authority: string, s: PowerBiSettings, secret: string | undefined, timeoutMs: number): Promise<CachedToken> {
    return this.tokens.get(key, async () => {
      if (!secret) throw stepFailed(1, 'the target has no client secret');
      const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: s.clientId, client_secret: secret, scope: POWERBI_SCOPE });
      const url = `${authority}/${encodeURIComponent(s.tenantId)}/oauth2/v2.0/token`;
      const answer = await this.call(
        1,
        url,
        { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form.toString() },
        timeoutMs,
        () => null,
        entraHint,
      );
      if (typeof answer.access_token !== 'string' || answer.access_token === '') throw stepFailed(1, 'the answer has no access_token');
      const lifetime = positiveInt(answer.expires_in) ?? DEFAULT_EXPIRES_IN;
      return { token: answer.access_token, renewAt: Date.now() + Math.max(0, lifetime - REFRESH_MARGIN_SECONDS) * 1000 };
    });
  }

  /** Step 2, reused for REPORT_CACHE_MS per target configuration and report. */
  private async report(
    key: string,
    api: string,
    workspaceId: string,
    reportId: string,
    baseUrl: string,
    bearer: Record<string, string>,
    timeoutMs: number,
    dropOnAuth: (status: number) => void,
  ): Promise<CachedReport> {
    const reportKey = `${key}\n${workspaceId}\n${reportId}`;
    const hit = this.reports.get(reportKey);
    if (hit && hit.until > Date.now()) return hit;
    // Single flight too: a burst of first requests for a report makes one lookup (Power BI
    // rate-limits its REST API per service principal).
    return singleFlight(this.reportsInflight, reportKey, () => this.lookUp(reportKey, api, workspaceId, reportId, baseUrl, bearer, timeoutMs, dropOnAuth));
  }

  private async lookUp(
    reportKey: string,
    api: string,
    workspaceId: string,
    reportId: string,
    baseUrl: string,
    bearer: Record<string, string>,
    timeoutMs: number,
    dropOnAuth: (status: number) => void,
  ): Promise<CachedReport> {
    const url = `${api}/v1.0/myorg/groups/${encodeURIComponent(workspaceId)}/reports/${encodeURIComponent(reportId)}`;
    const info = await this.call(2, url, { method: 'GET', headers: bearer }, timeoutMs, (status) => {
      if (status === 404) return new DomainError(PowerBiError.ReportNotFound, 404, 'No report with this id in the workspace', { reportId });
      dropOnAuth(status);
      return null;
    });
    if (typeof info.datasetId !== 'string' || !GUID_RE.test(info.datasetId)) throw stepFailed(2, 'the report has no dataset (only Power BI reports on a semantic model are embedded)');
    if (typeof info.embedUrl !== 'string') throw stepFailed(2, 'the answer has no embedUrl');
    // The browser frames this URL: it must be on the Power BI host the target names (the
    // demo page's frame-src, and powerbi-client's own host check), over https.
    let embed: URL;
    try {
      embed = new URL(info.embedUrl);
    } catch {
      throw stepFailed(2, 'the embedUrl is not a URL');
    }
    const expected = new URL(baseUrl).origin;
    if (embed.origin !== expected || embed.protocol !== 'https:') throw stepFailed(2, `the report's embedUrl is not on ${expected} (set the target's base URL to the Power BI host it names)`);
    const cached = { embedUrl: embed.toString(), datasetId: info.datasetId.toLowerCase(), until: Date.now() + REPORT_CACHE_MS };
    if (this.reports.size >= REPORT_CACHE_MAX) this.reports.delete(this.reports.keys().next().value as string);
    this.reports.set(reportKey, cached);
    return cached;
  }

  private async call(
    step: Step,
    url: string,
    init: RequestInit,
    timeoutMs: number,
    onStatus: (status: number) => DomainError | null = () => null,
    hint: (status: number, body: unknown) => string = () => '',
  ): Promise<Record<string, unknown>> {
    const res = await brokerFetch(this.deps.fetch, url, init, timeoutMs, {
      unreachable: `${new URL(url).host} could not be reached`,
      redirected: (status) => `HTTP ${status}: answered with a redirect, which is not followed (check the target's hosts)`,
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
      throw stepFailed(step, `HTTP ${res.status}${errorWords(body)}${hint(res.status, body)}`);
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw stepFailed(step, 'the answer is not a JSON object');
    return body as Record<string, unknown>;
  }
}

function positiveInt(v: unknown): number | undefined {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : undefined;
}

/** https, or http on a loopback address (a fake in tests; the outbound guard refuses it in production). */
function hostProblem(field: string, v: unknown): string[] {
  if (typeof v !== 'string') return [];
  const u = new URL(v);
  if (u.protocol === 'https:') return [];
  if (u.protocol === 'http:' && ['127.0.0.1', '[::1]', 'localhost'].includes(u.hostname)) return [];
  return [`settings.${field} must be an https origin (http only on loopback, for tests)`];
}

const rolesNote = (roles: string[]): string => (roles.length > 0 ? `Roles the accesses map to (names exactly): ${roles.join(', ')}` : 'No access maps groups to roles yet.');

/** Unset: none (each tenant's reports are listed); a list: only those. */
const REPORTS: ArraySchema = {
  type: 'array',
  title: 'Reports',
  description: 'The report ids (GUIDs) this tenant may embed; unset or empty: none',
  maxItems: 500,
  items: { type: 'string', pattern: `^${GUID}$`, 'x-pattern-message': 'a report id (a GUID)' },
  'x-allow-list': { unset: 'none' },
};

const guid = (title: string, description: string) => ({
  type: 'string' as const,
  title,
  description,
  pattern: `^${GUID}$`,
  'x-pattern-message': 'a GUID like 00000000-0000-0000-0000-000000000000',
});

const settingsSchema: ObjectSchema = {
  type: 'object',
  properties: {
    tenantId: {
      type: 'string',
      title: 'Entra tenant id',
      description: 'The Directory (tenant) id of the app registration (a GUID, or a domain like contoso.onmicrosoft.com)',
      pattern: `^(${GUID}|[A-Za-z0-9][A-Za-z0-9.-]{0,99})$`,
      'x-pattern-message': 'the tenant GUID or its domain name',
    },
    clientId: guid('Client id', 'The app registration\'s Application (client) id'),
    workspaceId: guid('Workspace id', 'The Power BI workspace holding the reports (the GUID after /groups/ in its URL)'),
    authorityHost: { type: 'string', title: 'Entra authority host', description: `Default ${DEFAULT_AUTHORITY_HOST} (another for sovereign clouds)`, format: 'origin', maxLength: 300 },
    apiHost: { type: 'string', title: 'Power BI API host', description: `Default ${DEFAULT_API_HOST} (another for sovereign clouds)`, format: 'origin', maxLength: 300 },
    tokenLifetimeMinutes: { type: 'integer', title: 'Embed token lifetime (minutes)', description: 'Shorter than Power BI\'s default (unset: Power BI\'s)', minimum: 5, maximum: 60 },
    requestTimeoutMs: { type: 'integer', title: 'Timeout per Microsoft call (ms)', minimum: 100, maximum: 30000, default: DEFAULT_TIMEOUT_MS },
    allowedOrigins: schemas.allowedOrigins('Origins of host apps fetching embed tokens (CORS with credentials; never *)'),
  },
  required: ['tenantId', 'clientId', 'workspaceId'],
  additionalProperties: false,
};

const accessSettingsSchema: ObjectSchema = {
  type: 'object',
  properties: {
    reports: REPORTS,
    rowLevelSecurity: {
      type: 'boolean',
      title: 'Row-level security',
      description: 'Send an effective identity: username = the user\'s email, roles = the groups mapped to Power BI roles',
      default: false,
    },
  },
  additionalProperties: false,
};

export const powerbi = defineTarget({
  kind: 'powerbi',
  label: 'Power BI',
  settingsSchema,
  accessSettingsSchema,
  examples: {
    baseUrl: 'https://app.powerbi.com',
    settings: {
      tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
      clientId: '6f1c2a44-1d1e-4c8e-9d6c-2a8b9c1d0e7f',
      workspaceId: 'be8908da-da25-452e-b220-163f52476cdd',
      authorityHost: DEFAULT_AUTHORITY_HOST,
      apiHost: DEFAULT_API_HOST,
      tokenLifetimeMinutes: 30,
      requestTimeoutMs: 5000,
      allowedOrigins: ['https://app.example.com'],
    },
    accessSettings: { reports: ['f6bfd646-b718-44dc-a378-b73e6b528204'], rowLevelSecurity: true },
  },
  secrets: [{ name: 'secret', required: true, minLength: 16, description: 'The app registration\'s client secret (its Value)' }],
  checkSettings: (settings: TargetSettings) => [...hostProblem('authorityHost', settings.authorityHost), ...hostProblem('apiHost', settings.apiHost)],
  broker: {
    resourceId: new RegExp(`^${GUID}$`),
    create: (deps) => new PowerBiBroker(deps),
    // The hosts when set (the defaults are Microsoft's public ones).
    outboundUrls: (settings) =>
      (['authorityHost', 'apiHost'] as const).filter((field) => typeof settings[field] === 'string').map((field) => ({ field, url: settings[field] as string })),
    // What GenerateToken would be asked for this user (the report's dataset is looked up then).
    preview: (ctx) => {
      const { rls, roles } = rlsRoles(ctx);
      const reports = lowerCased(accessOf(ctx.access.settings).reports);
      return {
        reports: Array.isArray(reports) ? reports.map((id) => ({ id })) : [],
        ...(rls ? { identities: [{ username: ctx.user.email, roles, datasets: ['(the report\'s dataset)'] }] } : {}),
        ...(typeof ctx.target.settings.tokenLifetimeMinutes === 'number' ? { lifetimeInMinutes: ctx.target.settings.tokenLifetimeMinutes } : {}),
      };
    },
  },
  setupGuide: (t, url, roles) => ({
    where: 'Microsoft Entra admin center, the Power BI (Fabric) admin portal and the workspace',
    items: [
      { label: 'Entra: App registrations > New registration', note: 'Single tenant, no redirect URI, no Power BI API permissions (a service principal needs none; admin-consented ones make Power BI refuse it). Copy its Application (client) id and Directory (tenant) id into this target.' },
      { label: 'Client id', value: settingOr(t, 'clientId', '(paste it below)') },
      { label: 'Entra tenant id', value: settingOr(t, 'tenantId', '(paste it below)') },
      t.secretsSet?.includes('secret')
        ? { label: 'Client secret', note: 'Set. To replace it: Certificates & secrets > New client secret, paste its Value into this target\'s secret below (before the old one expires).' }
        : { label: 'Client secret', note: 'Certificates & secrets > New client secret; paste its Value (not its id) into this target\'s secret below.' },
      { label: 'Power BI admin portal > Tenant settings > Developer settings', note: 'Enable "Embed content in apps", and "Service principals can use Fabric APIs" (formerly "Allow service principals to use Power BI APIs") for a security group holding the app.' },
      { label: 'Workspace > Manage access', note: 'Add the app (its name) as Member or Admin. The workspace must be on a capacity (Power BI Embedded A SKU, or Fabric F / Premium P) for embed tokens beyond testing.' },
      { label: 'Workspace id', value: settingOr(t, 'workspaceId', '(the GUID after /groups/ in the workspace URL)') },
      { label: 'Row-level security roles', note: `In Power BI Desktop: Modeling > Manage roles; publish. Then turn on Row-level security on a tenant's access and map its groups to role names. ${rolesNote(roles)}` },
      { label: 'Allowed origins', value: originsOf(t) || '(your host app\'s origins, below)' },
      { label: 'Host page: token URL', value: `${url}/embed/${t.slug}/powerbi/<report id>/token`, note: 'GET it with credentials; give powerbi-client {type: "report", tokenType: Embed, accessToken: token, embedUrl, id: reportId}.' },
    ],
  }),
  demo: powerbiDemo,
});
