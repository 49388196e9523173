import express, { NextFunction, Request, Response } from 'express';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';

/**
 * A fake Databricks workspace for AI/BI external embedding, enforcing what the README says
 * the three steps look like (nothing is signed by us here, so nothing to verify with jose):
 *
 *   POST /oidc/v1/token   form, Basic auth (client id:secret, checked)
 *      step 1: grant_type=client_credentials&scope=all-apis -> {access_token, expires_in}
 *      step 3: grant_type=client_credentials + every field of the token info as-is, with
 *              authorization_details a JSON STRING (a parsed array or an object is refused)
 *              -> {access_token, expires_in?} (the scoped token)
 *   GET /api/2.0/lakeview/dashboards/:id/published/tokeninfo?external_viewer_id&external_value
 *      Bearer <an all-apis token it issued> -> {authorization_details: [...], custom_claim, scope}
 *      404 for an unknown dashboard.
 *   GET /embed/dashboardsv3/:id   a page the browser SDK's iframe loads (shows the dashboard).
 *
 * Both query values must arrive url-encoded exactly once: the fake keeps the raw query string
 * and checks that decoding it gives the values it then embeds in the token info, so a value
 * with `&`, `=`, `+` or spaces sent unencoded (or twice encoded) shows up as a mismatch.
 * Counts every call per step; `fail` and `delayMs` make a step err or stall on demand.
 */
export interface FakeDatabricksOptions {
  clientId: string;
  clientSecret: string;
  dashboards: string[];
  /** Lifetime of the all-apis token (s). */
  serviceTokenTtl?: number;
  /** Lifetime of scoped tokens (s); undefined to leave expires_in out (we must assume 3600). */
  scopedTokenTtl?: number | null;
}

export type DatabricksStep = 'service' | 'tokeninfo' | 'scoped';

export interface TokenInfoCall {
  dashboardId: string;
  rawQuery: string;
  externalViewerId: string;
  externalValue: string;
}

export interface ScopedCall {
  form: Record<string, string>;
  authorizationDetails: unknown;
}

export interface FakeDatabricks {
  url: string;
  calls: Record<DatabricksStep, number>;
  tokenInfoCalls: TokenInfoCall[];
  scopedCalls: ScopedCall[];
  /** Scoped tokens issued, with what they were issued for. */
  scopedTokens: Map<string, { dashboardId: string; externalViewerId: string; externalValue: string }>;
  /** Requests refused, with why (wrong auth, malformed form...). */
  rejections: { step: DatabricksStep; reason: string }[];
  /** Make a step answer this status (until cleared). */
  fail: Partial<Record<DatabricksStep, number>>;
  /** Make a step wait this long before answering. */
  delayMs: Partial<Record<DatabricksStep, number>>;
  /** Revoke every all-apis token issued so far. */
  revokeServiceTokens(): void;
  close(): Promise<void>;
}

export async function startFakeDatabricks(o: FakeDatabricksOptions): Promise<FakeDatabricks> {
  const serviceTokens = new Set<string>();
  const fake: FakeDatabricks = {
    url: '',
    calls: { service: 0, tokeninfo: 0, scoped: 0 },
    tokenInfoCalls: [],
    scopedCalls: [],
    scopedTokens: new Map(),
    rejections: [],
    fail: {},
    delayMs: {},
    revokeServiceTokens: () => serviceTokens.clear(),
    close: async () => undefined,
  };
  // Issued token info: the fake checks step 3 sends back exactly what step 2 gave.
  const issuedInfo = new Map<string, { dashboardId: string; externalViewerId: string; externalValue: string }>();

  const app = express();
  app.disable('x-powered-by');
  const refuse = (res: Response, step: DatabricksStep, status: number, reason: string) => {
    fake.rejections.push({ step, reason });
    res.status(status).json({ error: 'invalid_request', error_description: reason });
  };
  const onDemand = async (step: DatabricksStep, res: Response): Promise<boolean> => {
    fake.calls[step]++;
    const delay = fake.delayMs[step];
    if (delay) await new Promise((r) => setTimeout(r, delay));
    const status = fake.fail[step];
    if (status) {
      res.status(status).json({ error_code: 'TEMPORARILY_UNAVAILABLE', message: `fake ${step} failure` });
      return false;
    }
    return true;
  };

  app.post('/oidc/v1/token', express.urlencoded({ extended: false }), async (req: Request, res: Response) => {
    // Not a form: nothing parsed (refused below as such, not by a crash on an undefined body).
    const form = (req.body ?? {}) as Record<string, string>;
    const step: DatabricksStep = form.scope === 'all-apis' ? 'service' : 'scoped';
    if (!(await onDemand(step, res))) return;
    if (!req.is('application/x-www-form-urlencoded')) return refuse(res, step, 400, 'not a form');
    const expected = `Basic ${Buffer.from(`${o.clientId}:${o.clientSecret}`).toString('base64')}`;
    if (req.headers.authorization !== expected) return refuse(res, step, 401, 'bad client credentials');
    if (form.grant_type !== 'client_credentials') return refuse(res, step, 400, 'grant_type must be client_credentials');
    if (step === 'service') {
      if (Object.keys(form).sort().join(',') !== 'grant_type,scope') return refuse(res, step, 400, 'unexpected fields');
      const token = `dapi-all-${randomBytes(12).toString('hex')}`;
      serviceTokens.add(token);
      return res.json({ access_token: token, token_type: 'Bearer', scope: 'all-apis', expires_in: o.serviceTokenTtl ?? 3600 });
    }
    // Step 3: authorization_details must be a JSON string of the array step 2 gave.
    const raw = form.authorization_details;
    let details: unknown;
    try {
      details = JSON.parse(raw);
    } catch {
      return refuse(res, step, 400, 'authorization_details is not a JSON string');
    }
    if (!Array.isArray(details)) return refuse(res, step, 400, 'authorization_details is not a JSON array');
    const key = typeof form.custom_claim === 'string' ? form.custom_claim : '';
    const info = issuedInfo.get(key);
    if (!info) return refuse(res, step, 400, 'custom_claim is not one step 2 gave');
    const expectedDetails = JSON.stringify(tokenInfoDetails(info.dashboardId));
    if (JSON.stringify(details) !== expectedDetails) return refuse(res, step, 400, 'authorization_details differ from step 2');
    if (form.scope !== 'dashboards.genie') return refuse(res, step, 400, 'scope differs from step 2');
    fake.scopedCalls.push({ form, authorizationDetails: details });
    const ttl = o.scopedTokenTtl === undefined ? 3600 : o.scopedTokenTtl;
    // A JWT-shaped token whose exp the browser SDK reads to schedule getNewToken().
    const exp = Math.floor(Date.now() / 1000) + (ttl ?? 3600);
    const token = `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify({ sub: info.externalViewerId, exp })).toString('base64')}.${randomBytes(16).toString('base64url')}`;
    fake.scopedTokens.set(token, info);
    return res.json(ttl === null ? { access_token: token, token_type: 'Bearer' } : { access_token: token, token_type: 'Bearer', expires_in: ttl });
  });

  app.get('/api/2.0/lakeview/dashboards/:id/published/tokeninfo', async (req: Request, res: Response) => {
    if (!(await onDemand('tokeninfo', res))) return;
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!bearer || !serviceTokens.has(bearer)) return refuse(res, 'tokeninfo', 401, 'not a valid all-apis token');
    const id = String(req.params.id);
    if (!o.dashboards.includes(id)) return res.status(404).json({ error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'dashboard not found' });
    const rawQuery = req.originalUrl.split('?')[1] ?? '';
    const params = new URLSearchParams(rawQuery);
    const viewer = params.get('external_viewer_id');
    const value = params.get('external_value');
    if (!viewer || value === null) return refuse(res, 'tokeninfo', 400, 'external_viewer_id and external_value are required');
    // Exactly one layer of encoding: re-encoding what was decoded gives back the raw query.
    const raw = Object.fromEntries(rawQuery.split('&').map((kv) => kv.split('=') as [string, string]));
    if (decodeURIComponent(raw.external_viewer_id.replace(/\+/g, ' ')) !== viewer || decodeURIComponent(raw.external_value.replace(/\+/g, ' ')) !== value) {
      return refuse(res, 'tokeninfo', 400, 'query values are not url-encoded once');
    }
    fake.tokenInfoCalls.push({ dashboardId: id, rawQuery, externalViewerId: viewer, externalValue: value });
    const claim = `claim-${randomBytes(8).toString('hex')}`;
    issuedInfo.set(claim, { dashboardId: id, externalViewerId: viewer, externalValue: value });
    return res.json({ authorization_details: tokenInfoDetails(id), custom_claim: claim, scope: 'dashboards.genie' });
  });

  // What the browser SDK frames: tells its parent it is ready (DATABRICKS_EMBED_READY) and
  // shows the token it got in the fragment and every DATABRICKS_SET_TOKEN (getNewToken()).
  app.get('/embed/dashboardsv3/:id', (req: Request, res: Response) => {
    const id = String(req.params.id).replace(/[^A-Za-z0-9_-]/g, '');
    res.type('html').send(`<!doctype html><html><body style="font-family:sans-serif;margin:2rem">
<h2>Fake Databricks dashboard ${id}</h2><p id="t">waiting for the token</p><p id="r"></p>
<script>
const t = new URLSearchParams(location.hash.slice(1)).get('token');
document.getElementById('t').textContent = t ? 'token received in the fragment' : 'no token';
let refreshed = 0;
window.addEventListener('message', (e) => {
  if (e.data && e.data.type === 'DATABRICKS_SET_TOKEN' && e.data.token) {
    refreshed++;
    document.getElementById('r').textContent = 'token refreshed ' + refreshed + ' time(s)';
  }
});
parent.postMessage({ type: 'DATABRICKS_EMBED_READY' }, '*');
</script></body></html>`);
  });
  app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => res.status(400).json({ error: err.message }));

  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () => new Promise((resolve) => server.close(() => resolve()));
  return fake;
}

/** The shape of Databricks' token info (one dashboard, read-only). */
function tokenInfoDetails(dashboardId: string) {
  return [
    { type: 'workspace_permission', object_type: 'dashboards', object_path: `/dashboards/${dashboardId}`, actions: ['read'] },
    { type: 'workspace_rule_set', rule_set: `dashboards/${dashboardId}/ruleSets/default`, etag: 'etag-1' },
  ];
}
