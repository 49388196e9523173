import request from 'supertest';
import { SessionsService } from '../../src/auth/sessions.service';
import { grantAccess, makeApiKey, makeTarget, makeTenant, makeUser } from '../factories';
import { FakeDatabricks, startFakeDatabricks } from '../fakes/databricks';
import { createTestApp, TestApp } from '../setup/app';

/**
 * Databricks AI/BI external embedding: GET /embed/<target>/databricks/<dashboardId>/token
 * runs the three-step mint against a fake workspace that enforces the documented shapes.
 */
const CLIENT_ID = '6f1c2a44-1d1e-4c8e-9d6c-2a8b9c1d0e7f';
const CLIENT_SECRET = 'dose-fake-sp-secret-0a1b2c3d4e5f6a7b8c9d';
const WORKSPACE_ID = '1234567890123456';
const DASH = '01ef0a1b2c3d4e5f6a7b8c9d0e1f2a3b';
const APP = 'https://host-app.example.com';
// Everything a query string can break on: & = + space % # and non-ASCII.
const EXTERNAL_VALUE = 'acme & co=1+2 %20#x é';

describe('Databricks token broker (GET /embed/:target/databricks/:dashboardId/token)', () => {
  let t: TestApp;
  let dbx: FakeDatabricks;
  let tenant: { id: string; slug: string };
  let user: { id: string; email: string };
  let cookie: string;

  const sessionCookie = async (u: { id: string }, tenantId: string) =>
    `eidp_session=${(await t.app.get(SessionsService).create({ id: u.id, tenantId }, { ip: null, userAgent: null })).token}`;

  /** A fresh workspace target (its own service-token cache) with access for the tenant. */
  const workspace = async (settings: object = {}, access: object = { externalValueAttribute: 'customer' }) => {
    const target = await makeTarget(t, {
      kind: 'databricks',
      baseUrl: dbx.url,
      secret: CLIENT_SECRET,
      settings: { workspaceId: WORKSPACE_ID, clientId: CLIENT_ID, allowedOrigins: [APP], ...settings },
    });
    await grantAccess(t.ds, tenant.id, target.id, { attributes: { customer: EXTERNAL_VALUE }, settings: access });
    return target;
  };
  const token = (slug: string, dash = DASH) => request(t.http).get(`/embed/${slug}/databricks/${dash}/token`).set('Cookie', cookie);
  const count = async (sql: string, params: unknown[] = []) => Number((await t.ds.query(sql, params))[0].n);
  const reset = () => {
    dbx.calls = { service: 0, tokeninfo: 0, scoped: 0 };
    dbx.fail = {};
    dbx.delayMs = {};
  };

  beforeAll(async () => {
    // One session makes every request of this file (bursts of 20 included): its handshake
    // rate is lifted; the per-session limit is sso-handshake-limits.medium-spec.ts's subject.
    t = await createTestApp({ env: { SSO_SESSION_BURST: '100000', SSO_SESSION_RATE: '100000' } });
    dbx = await startFakeDatabricks({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, dashboards: [DASH, 'other-dash'] });
    tenant = await makeTenant(t.ds, { attributes: { customer: 'tenant-value' } });
    user = await makeUser(t.ds, tenant.id, { email: `viewer-${Date.now()}@acme.example`, attributes: { customer: 'user-value' } });
    cookie = await sessionCookie(user, tenant.id);
  });
  afterAll(async () => {
    await dbx.close();
    await t.close();
  });
  beforeEach(reset);

  it('answers what @databricks/aibi-client takes, from the three documented steps', async () => {
    const target = await workspace();
    const res = await token(target.slug).expect(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({ instanceUrl: dbx.url, workspaceId: WORKSPACE_ID, dashboardId: DASH, token: expect.any(String), expiresIn: 3600 });
    // The fake issued exactly this token, for this dashboard, with the ACCESS's attribute
    // (access > user > tenant), url-encoded once, and authorization_details as a JSON string.
    expect(dbx.rejections).toEqual([]);
    expect(dbx.scopedTokens.get(res.body.token)).toMatchObject({ dashboardId: DASH, externalValue: EXTERNAL_VALUE });
    expect(dbx.calls).toEqual({ service: 1, tokeninfo: 1, scoped: 1 });
    expect(dbx.scopedCalls[dbx.scopedCalls.length - 1].form).toMatchObject({ grant_type: 'client_credentials', scope: 'dashboards.genie' });
  });

  it('sends an opaque, stable viewer id: no email, the same on every call, different per target', async () => {
    const a = await workspace();
    const b = await workspace();
    await token(a.slug).expect(200);
    await token(a.slug).expect(200);
    await token(b.slug).expect(200);
    const ids = dbx.tokenInfoCalls.slice(-3).map((c) => c.externalViewerId);
    expect(ids[0]).toBe(ids[1]);
    expect(ids[2]).not.toBe(ids[0]);
    for (const id of ids) {
      expect(id).not.toContain(user.email.split('@')[0]);
      expect(id).not.toContain(user.id);
      expect(id).toMatch(/^[A-Za-z0-9_-]{20,64}$/);
    }
  });

  it('takes external_value from the user, then the tenant, when the access has none', async () => {
    const target = await makeTarget(t, { kind: 'databricks', baseUrl: dbx.url, secret: CLIENT_SECRET, settings: { workspaceId: WORKSPACE_ID, clientId: CLIENT_ID } });
    await grantAccess(t.ds, tenant.id, target.id, { settings: { externalValueAttribute: 'customer' } });
    const res = await token(target.slug).expect(200);
    expect(dbx.scopedTokens.get(res.body.token)?.externalValue).toBe('user-value');
  });

  it('shares one all-apis token per target across concurrent requests (one step-1 call), never a scoped one', async () => {
    const target = await workspace();
    dbx.delayMs.service = 150; // every request arrives while step 1 is still running
    const answers = await Promise.all(Array.from({ length: 20 }, () => token(target.slug)));
    expect(answers.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(dbx.calls.service).toBe(1);
    expect(dbx.calls.scoped).toBe(20);
    expect(new Set(answers.map((r) => r.body.token)).size).toBe(20);
    // Warm cache: more tokens, still no step 1.
    await token(target.slug).expect(200);
    expect(dbx.calls.service).toBe(1);
  });

  it('fetches a new all-apis token shortly before the shared one expires, or when Databricks refuses it', async () => {
    const short = await startFakeDatabricks({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, dashboards: [DASH], serviceTokenTtl: 61 });
    try {
      const target = await makeTarget(t, { kind: 'databricks', baseUrl: short.url, secret: CLIENT_SECRET, settings: { workspaceId: WORKSPACE_ID, clientId: CLIENT_ID } });
      await grantAccess(t.ds, tenant.id, target.id, { settings: { externalValueAttribute: 'customer' } });
      await token(target.slug).expect(200);
      await new Promise((r) => setTimeout(r, 1100)); // 61 s lifetime - 60 s margin
      await token(target.slug).expect(200);
      expect(short.calls.service).toBe(2);
      short.revokeServiceTokens();
      const refused = await token(target.slug).expect(502);
      expect(refused.body.message).toMatch(/step 2/);
      await token(target.slug).expect(200);
      expect(short.calls.service).toBe(3);
    } finally {
      await short.close();
    }
  });

  it('never sends the old workspace\'s service token to a repointed base URL', async () => {
    const target = await workspace();
    await token(target.slug).expect(200);
    const other = await startFakeDatabricks({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, dashboards: [DASH] });
    try {
      await request(t.http).patch(`/api/v1/targets/${target.id}`).set('Authorization', `Bearer ${await makeApiKey(t.ds, null)}`).send({ baseUrl: other.url }).expect(200);
      const res = await token(target.slug);
      expect(other.rejections).toEqual([]);
      expect(res.status).toBe(200);
      expect(other.calls.service).toBe(1);
      expect(res.body.instanceUrl).toBe(other.url);
    } finally {
      await other.close();
    }
  });

  it('assumes 3600 s when step 3 has no expires_in, and records and audits every mint like a token', async () => {
    const noTtl = await startFakeDatabricks({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, dashboards: [DASH], scopedTokenTtl: null });
    try {
      const target = await makeTarget(t, { kind: 'databricks', baseUrl: noTtl.url, secret: CLIENT_SECRET, settings: { workspaceId: WORKSPACE_ID, clientId: CLIENT_ID } });
      await grantAccess(t.ds, tenant.id, target.id, { settings: { externalValueAttribute: 'customer' } });
      const res = await token(target.slug).expect(200);
      expect(res.body.expiresIn).toBe(3600);
      const [rec] = await t.ds.query(`SELECT * FROM issued_tokens WHERE target_id = $1`, [target.id]);
      expect(Number(rec.exp) - Number(rec.iat)).toBe(3600);
      expect(rec.user_id).toBe(user.id);
      const [event] = await t.ds.query(`SELECT * FROM audit_events WHERE type = 'broker.token_issued' AND details->>'jti' = $1`, [rec.jti]);
      expect(event.details).toMatchObject({ target: target.slug, userId: user.id, resource: DASH });
      expect(JSON.stringify(event)).not.toContain(res.body.token);
    } finally {
      await noTtl.close();
    }
  });

  describe('refusals: clear 4xx JSON, audited, nothing minted', () => {
    it.each([
      ['no session', async (slug: string) => request(t.http).get(`/embed/${slug}/databricks/${DASH}/token`), 401, 'no_session'],
      ['an unknown dashboard', async (slug: string) => token(slug, 'no-such-dash'), 404, 'dashboard_not_found'],
      ['a malformed dashboard id', async (slug: string) => token(slug, 'a.b'), 400, 'invalid_id'],
      ['the wrong kind in the URL', async (slug: string) => request(t.http).get(`/embed/${slug}/metabase/${DASH}/token`).set('Cookie', cookie), 404, 'target_not_found'],
      ['a dashboard not on the access list', async (slug: string) => token(slug, 'other-dash'), 403, 'dashboard_not_allowed'],
    ])('%s', async (_what, send, status, code) => {
      const target = await workspace({}, { externalValueAttribute: 'customer', dashboards: [DASH, 'no-such-dash', 'a.b'.replace('.', '')] });
      const before = await count(`SELECT count(*) AS n FROM issued_tokens WHERE target_id = $1`, [target.id]);
      const scopedBefore = dbx.calls.scoped;
      const res = await send(target.slug);
      expect(res.status).toBe(status);
      expect(res.headers['content-type']).toMatch(/json/);
      expect(res.body.error ?? res.body.code).toBeDefined();
      expect(JSON.stringify(res.body)).toContain(code);
      expect(await count(`SELECT count(*) AS n FROM issued_tokens WHERE target_id = $1`, [target.id])).toBe(before);
      expect(dbx.calls.scoped).toBe(scopedBefore);
      if (status !== 401) {
        expect(await count(`SELECT count(*) AS n FROM audit_events WHERE type = 'broker.denied' AND details->>'target' = $1`, [target.slug])).toBeGreaterThan(0);
      }
    });

    it('an empty dashboards list allows no dashboard: 403, nothing asked of Databricks', async () => {
      const target = await workspace({}, { externalValueAttribute: 'customer', dashboards: [] });
      const res = await token(target.slug).expect(403);
      expect(res.body.error ?? res.body.code).toBe('dashboard_not_allowed');
      expect(dbx.calls).toEqual({ service: 0, tokeninfo: 0, scoped: 0 });
    });

    it('a tenant without access: 403, audited', async () => {
      const target = await makeTarget(t, { kind: 'databricks', baseUrl: dbx.url, secret: CLIENT_SECRET, settings: { workspaceId: WORKSPACE_ID, clientId: CLIENT_ID } });
      const res = await token(target.slug).expect(403);
      expect(res.body.message).toMatch(/access/);
      expect(await count(`SELECT count(*) AS n FROM audit_events WHERE type = 'broker.denied' AND details->>'reason' = 'no_access' AND details->>'target' = $1`, [target.slug])).toBe(1);
      expect(dbx.calls.service).toBe(0);
    });

    it('an unknown target: 404 JSON', async () => {
      const res = await token('no-such-target').expect(404);
      expect(res.body.message).toMatch(/target not found/);
    });

    it('a product without a token broker: 400 naming it', async () => {
      const mb = await makeTarget(t, { kind: 'metabase', baseUrl: 'https://mb.example.com', secret: 'mb-secret-0123456789abcdef0123456789ab' });
      await grantAccess(t.ds, tenant.id, mb.id);
      const res = await request(t.http).get(`/embed/${mb.slug}/metabase/1/token`).set('Cookie', cookie).expect(400);
      expect(res.body.message).toMatch(/no token broker/);
    });

    it('an attribute that resolves nowhere: 400 naming it, nothing asked of Databricks', async () => {
      const target = await workspace({}, { externalValueAttribute: 'nowhere' });
      const res = await token(target.slug).expect(400);
      expect(res.body.message).toMatch(/"nowhere"/);
      expect(dbx.calls.service).toBe(0);
    });
  });

  describe('Databricks slow or failing: 502 naming the step, no secret anywhere', () => {
    it.each([
      ['service', 500, /step 1 \(service principal token\) failed: HTTP 500/],
      ['tokeninfo', 503, /step 2 \(dashboard token info\) failed: HTTP 503/],
      ['scoped', 429, /step 3 \(scoped token\) failed: HTTP 429/],
    ] as const)('%s answers %s', async (step, status, message) => {
      const target = await workspace();
      dbx.fail[step] = status;
      const res = await token(target.slug).expect(502);
      expect(res.body.message).toMatch(message);
      expect(JSON.stringify(res.body)).not.toContain(CLIENT_SECRET);
      expect(JSON.stringify(res.body)).not.toMatch(/dapi-all-/);
      expect(await count(`SELECT count(*) AS n FROM issued_tokens WHERE target_id = $1`, [target.id])).toBe(0);
      const [event] = await t.ds.query(`SELECT details FROM audit_events WHERE type = 'broker.denied' AND details->>'target' = $1`, [target.slug]);
      expect(event.details).toMatchObject({ reason: 'databricks_failed' });
      expect(JSON.stringify(event)).not.toContain(CLIENT_SECRET);
    });

    it('a step that does not answer in time', async () => {
      const target = await workspace({ requestTimeoutMs: 300 });
      dbx.delayMs.scoped = 1500;
      const started = Date.now();
      const res = await token(target.slug).expect(502);
      expect(res.body.message).toMatch(/step 3 \(scoped token\) failed: no answer within 300 ms/);
      expect(Date.now() - started).toBeLessThan(1400);
    });

    it('a wrong service principal secret: step 1 refused, named', async () => {
      const target = await makeTarget(t, {
        kind: 'databricks',
        baseUrl: dbx.url,
        secret: 'wrong-secret-0a1b2c3d4e5f6a7b8c9d',
        settings: { workspaceId: WORKSPACE_ID, clientId: CLIENT_ID },
      });
      await grantAccess(t.ds, tenant.id, target.id, { settings: { externalValueAttribute: 'customer' } });
      const res = await token(target.slug).expect(502);
      expect(res.body.message).toBe('Databricks step 1 (service principal token) failed: HTTP 401');
    });
  });

  describe('cross-origin, with credentials', () => {
    it('echoes an allow-listed origin with credentials; refuses another before minting; answers preflights', async () => {
      const target = await workspace();
      const ok = await token(target.slug).set('Origin', APP).expect(200);
      expect(ok.headers['access-control-allow-origin']).toBe(APP);
      expect(ok.headers['access-control-allow-credentials']).toBe('true');
      const scoped = dbx.calls.scoped;
      await token(target.slug).set('Origin', 'https://evil.example').expect(403);
      expect(dbx.calls.scoped).toBe(scoped);
      const pre = await request(t.http).options(`/embed/${target.slug}/databricks/${DASH}/token`).set('Origin', APP).expect(204);
      expect(pre.headers['access-control-allow-methods']).toBe('GET, OPTIONS');
      await request(t.http).options(`/embed/${target.slug}/databricks/${DASH}/token`).set('Origin', 'https://evil.example').expect(403);
    });
  });

  describe('demo page /demo/databricks/:target/:dashboardId', () => {
    it('embeds with @databricks/aibi-client served from here, framing only the workspace', async () => {
      const target = await workspace();
      const res = await request(t.http).get(`/demo/databricks/${target.slug}/${DASH}`).set('Cookie', cookie).expect(200);
      expect(res.text).toContain(`data-token-url="/embed/${target.slug}/databricks/${DASH}/token"`);
      expect(res.text).toContain('src="/demo/assets/databricks-demo.js"');
      expect(res.headers['content-security-policy']).toContain(`frame-src ${dbx.url}`);
      expect(res.headers['content-security-policy']).toContain("script-src 'self'");
      const sdk = await request(t.http).get('/demo/assets/aibi-client.js').expect(200);
      expect(sdk.headers['content-type']).toMatch(/javascript/);
      expect(sdk.text).toContain('class DatabricksDashboard');
      const client = await request(t.http).get('/demo/assets/databricks-demo.js').expect(200);
      expect(client.text).toContain("import { DatabricksDashboard } from './aibi-client.js'");
      expect(client.text).toContain('getNewToken');
    });

    it('is for token-broker targets only', async () => {
      const mb = await makeTarget(t, { kind: 'metabase', baseUrl: 'https://mb.example.com', secret: 'mb-secret-0123456789abcdef0123456789ab' });
      await request(t.http).get(`/demo/databricks/${mb.slug}/${DASH}`).set('Cookie', cookie).expect(404);
    });

    it('sends a visitor without a session to the login page, and back', async () => {
      const target = await workspace();
      const res = await request(t.http).get(`/demo/databricks/${target.slug}/${DASH}`).expect(302);
      expect(res.headers.location).toBe(`/login?next=${encodeURIComponent(`/demo/databricks/${target.slug}/${DASH}`)}`);
    });
  });
});
