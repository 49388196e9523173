import express, { NextFunction, Request, Response } from 'express';
import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';

/**
 * A fake Microsoft: Entra ID's token endpoint, the Power BI REST API and the page Power BI
 * frames at a report's embedUrl, enforcing what Microsoft documents ("Embed Power BI content
 * with service principal and an application secret"; REST "Reports - Get Report In Group",
 * "Embed Token - Generate Token"):
 *
 *   POST /:tenant/oauth2/v2.0/token   form: grant_type=client_credentials, client_id,
 *        client_secret (both checked), scope=https://analysis.windows.net/powerbi/api/.default
 *        -> {token_type, expires_in, access_token}; Entra's error shapes otherwise.
 *   GET  /v1.0/myorg/groups/:ws/reports/:id   Bearer <an Entra token it issued, not expired>
 *        -> {id, name, embedUrl, datasetId, ...}; 404 for a report not in the workspace.
 *   POST /v1.0/myorg/GenerateToken   Bearer, JSON {reports: [{id}], datasets: [{id}],
 *        identities?, lifetimeInMinutes?}: view only (no allowEdit), the report's dataset
 *        listed, an effective identity exactly when the dataset has row-level security (with
 *        a username, known roles and the dataset), -> {token, tokenId, expiration}.
 *   GET  /reportEmbed?reportId&groupId&uid   the embed page (served at embedUrl's origin, which
 *        must be https://*.powerbi.com for powerbi-client: the browser test routes it here).
 *        It speaks powerbi-client's window-post-message / http-post-message protocol: answers
 *        POST /report/load (202), checks the embed token it got with POST /fake/embed-check,
 *        then posts `loaded` and `rendered` events, or an `error` event; a renewed token
 *        (report.setAccessToken: POST /report/token) is checked the same way (202, or 403).
 *
 * Counts every call per step; `fail` and `delayMs` make a step err or stall on demand.
 */
export interface FakePowerBiOptions {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  workspaceId: string;
  /** Reports in the workspace: id -> its dataset. */
  reports: Record<string, string>;
  /** Datasets with row-level security: id -> its role names. */
  rlsDatasets?: Record<string, string[]>;
  /** Lifetime of Entra tokens (s). */
  entraTokenTtl?: number;
  /** The origin embedUrls point to (default https://app.powerbi.com). */
  embedOrigin?: string;
  /** Lifetime of embed tokens (s) when the request sets none (Power BI's default: an hour). */
  embedTokenTtl?: number;
}

export type PowerBiStep = 'entra' | 'report' | 'generate';

export interface IssuedEmbedToken {
  tokenId: string;
  reportId: string;
  datasetId: string;
  identities: { username: string; roles: string[]; datasets: string[] }[] | null;
  expiresAt: number;
}

export interface FakePowerBi {
  url: string;
  calls: Record<PowerBiStep, number>;
  /** Embed tokens issued, by token. */
  embedTokens: Map<string, IssuedEmbedToken>;
  /** GenerateToken bodies accepted, in order. */
  generateBodies: Record<string, unknown>[];
  /** Embed pages that accepted their token (report, token id, effective identity). */
  embeds: { reportId: string; tokenId: string; identities: IssuedEmbedToken['identities'] }[];
  /** Requests refused, with why. */
  rejections: { step: PowerBiStep | 'embed'; reason: string }[];
  fail: Partial<Record<PowerBiStep, number>>;
  delayMs: Partial<Record<PowerBiStep, number>>;
  /** Make every Entra token issued so far expired. */
  expireEntraTokens(): void;
  close(): Promise<void>;
}

const SCOPE = 'https://analysis.windows.net/powerbi/api/.default';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export async function startFakePowerBi(o: FakePowerBiOptions): Promise<FakePowerBi> {
  const entraTokens = new Map<string, number>();
  const embedOrigin = o.embedOrigin ?? 'https://app.powerbi.com';
  const fake: FakePowerBi = {
    url: '',
    calls: { entra: 0, report: 0, generate: 0 },
    embedTokens: new Map(),
    generateBodies: [],
    embeds: [],
    rejections: [],
    fail: {},
    delayMs: {},
    expireEntraTokens: () => {
      for (const k of entraTokens.keys()) entraTokens.set(k, 0);
    },
    close: async () => undefined,
  };

  const app = express();
  app.disable('x-powered-by');
  // Power BI's error shape: {error: {code, message}}.
  const refuse = (res: Response, step: PowerBiStep | 'embed', status: number, code: string, reason: string) => {
    fake.rejections.push({ step, reason });
    res.status(status).json({ error: { code, message: reason } });
  };
  const onDemand = async (step: PowerBiStep, res: Response): Promise<boolean> => {
    fake.calls[step]++;
    const delay = fake.delayMs[step];
    if (delay) await new Promise((r) => setTimeout(r, delay));
    const status = fake.fail[step];
    if (status) {
      res.status(status).json({ error: { code: 'ServiceUnavailable', message: `fake ${step} failure` } });
      return false;
    }
    return true;
  };
  const bearerOk = (req: Request, res: Response, step: PowerBiStep): boolean => {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const exp = bearer ? entraTokens.get(bearer) : undefined;
    if (exp === undefined) {
      refuse(res, step, 403, 'PowerBINotAuthorizedException', 'not a token Entra issued');
      return false;
    }
    if (exp <= Date.now()) {
      refuse(res, step, 403, 'TokenExpired', 'the Entra token has expired');
      return false;
    }
    return true;
  };

  app.post('/:tenant/oauth2/v2.0/token', express.urlencoded({ extended: false }), async (req: Request, res: Response) => {
    if (!(await onDemand('entra', res))) return;
    const form = (req.body ?? {}) as Record<string, string>;
    // Entra's OAuth error answers (RFC 6749 §5.2), with its AADSTS codes in the description.
    const entraError = (status: number, error: string, description: string) => {
      fake.rejections.push({ step: 'entra', reason: description });
      res.status(status).json({ error, error_description: description, error_codes: [Number(/\d+/.exec(description)?.[0] ?? 0)] });
    };
    if (!req.is('application/x-www-form-urlencoded')) return entraError(400, 'invalid_request', 'AADSTS900144: not a form');
    if (req.params.tenant !== o.tenantId) return entraError(400, 'invalid_request', `AADSTS90002: Tenant '${req.params.tenant}' not found.`);
    if (form.grant_type !== 'client_credentials') return entraError(400, 'unsupported_grant_type', 'AADSTS70003: grant_type must be client_credentials');
    if (form.client_id !== o.clientId) return entraError(400, 'unauthorized_client', `AADSTS700016: Application with identifier '${form.client_id}' was not found.`);
    // Entra echoes nothing of the secret; the fake says so plainly.
    if (form.client_secret !== o.clientSecret) return entraError(401, 'invalid_client', `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${o.clientId}'.`);
    if (form.scope !== SCOPE) return entraError(400, 'invalid_scope', `AADSTS1002012: The provided value for scope ${form.scope} is not valid.`);
    const token = `eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.entra-${randomBytes(16).toString('hex')}`;
    const ttl = o.entraTokenTtl ?? 3599;
    entraTokens.set(token, Date.now() + ttl * 1000);
    return res.json({ token_type: 'Bearer', expires_in: ttl, ext_expires_in: ttl, access_token: token });
  });

  app.get('/v1.0/myorg/groups/:ws/reports/:id', async (req: Request, res: Response) => {
    if (!(await onDemand('report', res))) return;
    if (!bearerOk(req, res, 'report')) return;
    const id = String(req.params.id);
    const datasetId = req.params.ws === o.workspaceId ? o.reports[id] : undefined;
    if (!datasetId) return res.status(404).json({ error: { code: 'ItemNotFound', message: `Couldn't find report ${id}` } });
    const config = Buffer.from(JSON.stringify({ clusterUrl: 'https://fake-cluster.analysis.windows.net', embedFeatures: { modernEmbed: true } })).toString('base64');
    return res.json({
      id,
      reportType: 'PowerBIReport',
      name: `Report ${id.slice(0, 8)}`,
      webUrl: `${embedOrigin}/groups/${o.workspaceId}/reports/${id}`,
      embedUrl: `${embedOrigin}/reportEmbed?reportId=${id}&groupId=${o.workspaceId}&w=2&config=${encodeURIComponent(config)}`,
      datasetId,
      datasetWorkspaceId: o.workspaceId,
    });
  });

  app.post('/v1.0/myorg/GenerateToken', express.json(), async (req: Request, res: Response) => {
    if (!(await onDemand('generate', res))) return;
    if (!bearerOk(req, res, 'generate')) return;
    const bad = (reason: string) => refuse(res, 'generate', 400, 'InvalidRequest', reason);
    const b = req.body as Record<string, unknown>;
    if (typeof b !== 'object' || b === null || Array.isArray(b)) return bad('not a JSON object');
    const known = ['reports', 'datasets', 'identities', 'lifetimeInMinutes'];
    const unknown = Object.keys(b).filter((k) => !known.includes(k));
    if (unknown.length) return bad(`unexpected fields ${unknown.join(', ')}`);
    const reports = b.reports as { id?: unknown; allowEdit?: unknown }[];
    if (!Array.isArray(reports) || reports.length !== 1 || typeof reports[0]?.id !== 'string') return bad('reports must be one report [{id}]');
    if (reports[0].allowEdit !== undefined) return bad('allowEdit asked: this token must only view');
    const reportId = reports[0].id;
    const datasetId = o.reports[reportId];
    if (!datasetId) return refuse(res, 'generate', 404, 'ItemNotFound', 'no such report');
    const datasets = b.datasets as { id?: unknown }[];
    if (!Array.isArray(datasets) || !datasets.some((d) => d?.id === datasetId)) return bad(`the report's dataset ${datasetId} is missing from datasets`);
    const roles = o.rlsDatasets?.[datasetId];
    const identities = b.identities as { username?: unknown; roles?: unknown; datasets?: unknown }[] | undefined;
    if (roles) {
      // Power BI: "Creating embed token for accessing dataset ... requires effective identity to be provided".
      if (!Array.isArray(identities) || identities.length !== 1) return bad(`dataset ${datasetId} has row-level security: an effective identity is required`);
      const [id] = identities;
      if (typeof id.username !== 'string' || id.username === '') return bad('the effective identity has no username');
      if (!Array.isArray(id.roles) || id.roles.length === 0) return bad('the effective identity has no roles');
      const unknownRoles = (id.roles as unknown[]).filter((r) => typeof r !== 'string' || !roles.includes(r));
      if (unknownRoles.length) return bad(`roles not in the dataset: ${unknownRoles.join(', ')}`);
      if (!Array.isArray(id.datasets) || id.datasets.length !== 1 || id.datasets[0] !== datasetId) return bad('the effective identity must name the dataset');
    } else if (identities !== undefined) {
      // Power BI: "Creating embed token with effective identity is not supported for this dataset".
      return bad(`dataset ${datasetId} has no row-level security: no effective identity may be sent`);
    }
    const lifetime = b.lifetimeInMinutes;
    if (lifetime !== undefined && (typeof lifetime !== 'number' || !Number.isInteger(lifetime) || lifetime <= 0)) return bad('lifetimeInMinutes must be a positive integer');
    fake.generateBodies.push(b);
    const token = `H4sIAAAAAAAEAC${randomBytes(48).toString('base64')}`;
    const tokenId = randomUUID();
    const expiresAt = Date.now() + (lifetime !== undefined ? (lifetime as number) * 60 : (o.embedTokenTtl ?? 3600)) * 1000;
    fake.embedTokens.set(token, {
      tokenId,
      reportId,
      datasetId,
      identities: roles ? (identities as IssuedEmbedToken['identities']) : null,
      expiresAt,
    });
    return res.json({ token, tokenId, expiration: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z') });
  });

  // The embed page's own check of the token it got from the host page (what Power BI's
  // front end does with its back end): issued by us, for this report, not expired.
  app.post('/fake/embed-check', express.json(), (req: Request, res: Response) => {
    const { token, reportId } = (req.body ?? {}) as { token?: unknown; reportId?: unknown };
    const issued = typeof token === 'string' ? fake.embedTokens.get(token) : undefined;
    const fail = (reason: string) => {
      fake.rejections.push({ step: 'embed', reason });
      res.status(403).json({ ok: false, reason });
    };
    if (!issued) return fail('not an embed token Power BI issued');
    if (issued.reportId !== reportId) return fail('the embed token is for another report');
    if (issued.expiresAt <= Date.now()) return fail('the embed token has expired');
    fake.embeds.push({ reportId: issued.reportId, tokenId: issued.tokenId, identities: issued.identities });
    return res.json({ ok: true, username: issued.identities?.[0]?.username ?? null, roles: issued.identities?.[0]?.roles ?? [] });
  });

  app.get('/reportEmbed', (req: Request, res: Response) => {
    const reportId = String(req.query.reportId ?? '').replace(/[^0-9a-f-]/g, '');
    res.type('html').send(`<!doctype html><html><body style="font-family:sans-serif;margin:2rem">
<h2>Fake Power BI report ${reportId}</h2><p id="state">waiting for /report/load</p><p id="who"></p><p id="renewed"></p>
<script>
const reportId = ${JSON.stringify(reportId)};
const uid = new URLSearchParams(location.search).get('uid');
const post = (url, body) => parent.postMessage({ method: 'POST', url, headers: { id: Math.random().toString(36).slice(2) }, body }, '*');
let renewed = 0;
const checkToken = async (token) => (await fetch('/fake/embed-check', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, reportId }) })).json();
window.addEventListener('message', async (e) => {
  const m = e.data;
  if (m && m.method === 'POST' && m.url === '/report/token') {
    const check = await checkToken(m.body);
    e.source.postMessage({ statusCode: check.ok ? 202 : 403, headers: { id: m.headers && m.headers.id }, body: check.ok ? null : { message: check.reason } }, '*');
    if (check.ok) document.getElementById('renewed').textContent = 'token renewed ' + (++renewed) + ' time(s)';
    return;
  }
  if (!m || m.method !== 'POST' || m.url !== '/report/load') return;
  // The http-post-message answer: the same tracking id, a 2xx status.
  e.source.postMessage({ statusCode: 202, headers: { id: m.headers && m.headers.id }, body: null }, '*');
  const c = m.body || {};
  const id = (m.headers && m.headers.uid) || uid;
  const problems = [];
  if (c.type !== 'report') problems.push('type is not report');
  if (c.tokenType !== 1) problems.push('tokenType is not Embed');
  if (c.id !== reportId) problems.push('id is not this report');
  let check = { ok: false, reason: 'not checked' };
  if (!problems.length) {
    check = await checkToken(c.accessToken);
    if (!check.ok) problems.push(check.reason);
  }
  if (problems.length) {
    document.getElementById('state').textContent = 'refused: ' + problems.join('; ');
    post('/reports/' + id + '/events/error', { message: 'LoadReportFailed', detailedMessage: problems.join('; '), errorCode: '403', level: 6 });
    return;
  }
  document.getElementById('state').textContent = 'rendered';
  document.getElementById('who').textContent = check.username ? 'effective identity ' + check.username + ' (' + check.roles.join(', ') + ')' : 'no effective identity';
  post('/reports/' + id + '/events/loaded', {});
  post('/reports/' + id + '/events/rendered', {});
});
</script></body></html>`);
  });
  app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => res.status(400).json({ error: { code: 'BadRequest', message: err.message } }));

  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return fake;
}

export { GUID as POWERBI_GUID };
