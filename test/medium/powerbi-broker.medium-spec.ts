import request from 'supertest';
import { SessionsService } from '../../src/auth/sessions.service';
import { wireCookieName } from '../../src/common/cookie-names';
import { SESSION_COOKIE } from '../../src/common/route-protection';
import { grantAccess, makeApiKey, makeTarget, makeTenant, makeUser } from '../factories';
import { FakePowerBi, startFakePowerBi } from '../fakes/powerbi';
import { createTestApp, TestApp } from '../setup/app';

/**
 * Power BI, embed for your customers: GET /embed/<target>/powerbi/<reportId>/token runs the
 * Entra login (shared, cached), the report lookup (cached briefly) and GenerateToken against a
 * fake that checks what Microsoft checks, records each embed token by its tokenId and audits.
 */
const ENTRA_TENANT = '0b8e2c9a-6a7e-4a59-a5b1-1a2b3c4d5e6f';
const CLIENT_ID = '6f1c2a44-1d1e-4c8e-9d6c-2a8b9c1d0e7f';
const CLIENT_SECRET = 'Xq58Q~fake.entra.client.secret-0123456789';
const WS = 'be8908da-da25-452e-b220-163f52476cdd';
const REPORT = 'f6bfd646-b718-44dc-a378-b73e6b528204';
const REPORT_RLS = '0a3c39e5-7dbe-4cdc-a8b4-3e8a1d3c9f11';
const OTHER_REPORT = '5d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6';
const DATASET = 'cfafbeb1-8037-4d0c-896e-a46fb27ff229';
const DATASET_RLS = '3a9e7c1d-2b4f-4e6a-9c8d-7f0e1a2b3c4d';

describe('Power BI token broker (GET /embed/:target/powerbi/:reportId/token)', () => {
  let t: TestApp;
  let pbi: FakePowerBi;
  let tenant: { id: string; slug: string };
  let user: { id: string; email: string };
  let cookie: string;

  const sessionCookie = async (u: { id: string }, tenantId: string) =>
    `eidp_session=${(await t.app.get(SessionsService).create({ id: u.id, tenantId }, { ip: null, userAgent: null })).token}`;
  const settingsFor = (fake: FakePowerBi, over: object = {}) => ({ tenantId: ENTRA_TENANT, clientId: CLIENT_ID, workspaceId: WS, authorityHost: fake.url, apiHost: fake.url, ...over });

  /** A fresh target (its own Entra token cache) with access for the tenant. */
  const workspace = async (access: object = { reports: [REPORT, REPORT_RLS] }, over: { settings?: object; secret?: string; fake?: FakePowerBi } = {}) => {
    const fake = over.fake ?? pbi;
    const target = await makeTarget(t, { kind: 'powerbi', baseUrl: 'https://app.powerbi.com', secret: over.secret ?? CLIENT_SECRET, settings: settingsFor(fake, over.settings) });
    await grantAccess(t.ds, tenant.id, target.id, { groupMappings: { analysts: ['Customer'], leads: ['Manager'] }, settings: access });
    return target;
  };
  const token = (slug: string, report = REPORT, c = cookie) => request(t.http).get(`/embed/${slug}/powerbi/${report}/token`).set('Cookie', c);
  const count = async (sql: string, params: unknown[] = []) => Number((await t.ds.query(sql, params))[0].n);
  const reset = () => {
    pbi.calls = { entra: 0, report: 0, generate: 0 };
    pbi.fail = {};
    pbi.delayMs = {};
  };

  beforeAll(async () => {
    t = await createTestApp({ env: { SSO_SESSION_BURST: '100000', SSO_SESSION_RATE: '100000' } });
    pbi = await startFakePowerBi({
      tenantId: ENTRA_TENANT,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      workspaceId: WS,
      reports: { [REPORT]: DATASET, [REPORT_RLS]: DATASET_RLS, [OTHER_REPORT]: DATASET },
      rlsDatasets: { [DATASET_RLS]: ['Customer', 'Manager'] },
    });
    tenant = await makeTenant(t.ds);
    user = await makeUser(t.ds, tenant.id, { email: `viewer-${Date.now()}@acme.example`, groups: ['analysts'] });
    cookie = await sessionCookie(user, tenant.id);
  });
  afterAll(async () => {
    await pbi.close();
    await t.close();
  });
  beforeEach(reset);

  it('answers what powerbi-client takes, from the three documented steps, view only', async () => {
    const target = await workspace();
    const res = await token(target.slug).expect(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({ token: expect.any(String), tokenId: expect.stringMatching(/^[0-9a-f-]{36}$/), expiresAt: expect.any(String), embedUrl: expect.any(String), reportId: REPORT });
    expect(new URL(res.body.embedUrl).origin).toBe('https://app.powerbi.com');
    expect(Date.parse(res.body.expiresAt)).toBeGreaterThan(Date.now());
    expect(pbi.rejections).toEqual([]);
    expect(pbi.embedTokens.get(res.body.token)).toMatchObject({ tokenId: res.body.tokenId, reportId: REPORT, identities: null });
    expect(pbi.calls).toEqual({ entra: 1, report: 1, generate: 1 });
    // No RLS on the access: no identity sent (the fake refuses one on a dataset without RLS).
    expect(pbi.generateBodies[pbi.generateBodies.length - 1]).toEqual({ reports: [{ id: REPORT }], datasets: [{ id: DATASET }] });
  });

  it('with row-level security: the effective identity is the user\'s email and the roles their groups map to', async () => {
    const target = await workspace({ reports: [REPORT_RLS], rowLevelSecurity: true }, { settings: { tokenLifetimeMinutes: 15 } });
    const res = await token(target.slug, REPORT_RLS).expect(200);
    expect(pbi.rejections).toEqual([]);
    expect(pbi.generateBodies[pbi.generateBodies.length - 1]).toEqual({
      reports: [{ id: REPORT_RLS }],
      datasets: [{ id: DATASET_RLS }],
      identities: [{ username: user.email, roles: ['Customer'], datasets: [DATASET_RLS] }],
      lifetimeInMinutes: 15,
    });
    expect(Date.parse(res.body.expiresAt) - Date.now()).toBeLessThanOrEqual(15 * 60_000);
    const [event] = await t.ds.query(`SELECT details FROM audit_events WHERE type = 'broker.token_issued' AND details->>'jti' = $1`, [res.body.tokenId]);
    expect(event.details).toMatchObject({ resource: REPORT_RLS, rowLevelSecurity: true, roles: ['Customer'], datasetId: DATASET_RLS });
  });

  it('with row-level security and no group mapped to a role: 403, nothing asked of Power BI (never a token without an identity)', async () => {
    const target = await workspace({ reports: [REPORT_RLS], rowLevelSecurity: true });
    const loner = await makeUser(t.ds, tenant.id, { groups: ['interns'] });
    const res = await token(target.slug, REPORT_RLS, await sessionCookie(loner, tenant.id)).expect(403);
    expect(res.body.error).toBe('powerbi_roles_missing');
    expect(pbi.calls).toEqual({ entra: 0, report: 0, generate: 0 });
    expect(await count(`SELECT count(*) AS n FROM audit_events WHERE type = 'broker.denied' AND details->>'reason' = 'powerbi_roles_missing' AND details->>'target' = $1`, [target.slug])).toBe(1);
  });

  it('records every embed token by its tokenId (the ledger\'s jti) with Power BI\'s expiry, and audits it without the token', async () => {
    const target = await workspace();
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push((await token(target.slug).expect(200)).body);
    const rows = await t.ds.query(`SELECT jti, iat, exp, user_id, tenant_id FROM issued_tokens WHERE target_id = $1 ORDER BY iat`, [target.id]);
    expect(rows.map((r: { jti: string }) => r.jti).sort()).toEqual(answers.map((a) => a.tokenId).sort());
    for (const a of answers) {
      const row = rows.find((r: { jti: string }) => r.jti === a.tokenId);
      expect(row).toMatchObject({ user_id: user.id, tenant_id: tenant.id });
      expect(Math.abs(Number(row.exp) - Math.floor(Date.parse(a.expiresAt) / 1000))).toBeLessThanOrEqual(2);
      const [event] = await t.ds.query(`SELECT * FROM audit_events WHERE type = 'broker.token_issued' AND details->>'jti' = $1`, [a.tokenId]);
      expect(event.details).toMatchObject({ target: target.slug, userId: user.id, resource: REPORT, rowLevelSecurity: false, datasetId: DATASET });
      expect(JSON.stringify(event)).not.toContain(a.token);
    }
  });

  it('warm cache: exactly one Power BI call per token and no Entra login', async () => {
    const target = await workspace();
    await token(target.slug).expect(200);
    reset();
    for (let i = 0; i < 5; i++) await token(target.slug).expect(200);
    expect(pbi.calls).toEqual({ entra: 0, report: 0, generate: 5 });
  });

  it('one Entra login and one report lookup for many concurrent requests (single flight), each with its own embed token', async () => {
    const target = await workspace();
    pbi.delayMs.entra = 150; // every request arrives while the login is still running
    const answers = await Promise.all(Array.from({ length: 20 }, () => token(target.slug)));
    expect(answers.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(pbi.calls.entra).toBe(1);
    expect(pbi.calls.report).toBe(1);
    expect(pbi.calls.generate).toBe(20);
    expect(new Set(answers.map((r) => r.body.tokenId)).size).toBe(20);
  });

  it('logs in again when Entra\'s token is refused (expired or revoked), after a 502 naming the step', async () => {
    const target = await workspace();
    await token(target.slug).expect(200);
    pbi.expireEntraTokens();
    const refused = await token(target.slug).expect(502);
    expect(refused.body.message).toMatch(/Power BI step 3 \(GenerateToken\) failed: HTTP 403 \(TokenExpired\)/);
    await token(target.slug).expect(200);
    expect(pbi.calls.entra).toBe(2);
  });

  it('a changed client secret is a new Entra login (the cache never outlives a secret)', async () => {
    const target = await workspace();
    await token(target.slug).expect(200);
    const key = await makeApiKey(t.ds, null);
    await request(t.http).patch(`/api/v1/targets/${target.id}`).set('Authorization', `Bearer ${key}`).send({ secrets: { secret: 'Zz91~another.entra.client.secret-98765' } }).expect(200);
    const res = await token(target.slug).expect(502);
    expect(res.body.message).toMatch(/step 1 \(Entra token\) failed: HTTP 401 \(invalid_client, AADSTS7000215\): Entra refused the client id or secret/);
    expect(pbi.calls.entra).toBe(2);
  });

  describe('refusals: clear 4xx JSON, audited, nothing minted', () => {
    it.each([
      ['a report not on the access list', OTHER_REPORT, 403, 'report_not_allowed'],
      ['a report not in the workspace', '99999999-9999-4999-8999-999999999999', 404, 'report_not_found'],
      ['a malformed report id', 'not-a-guid', 400, 'invalid_id'],
    ])('%s', async (_what, report, status, code) => {
      const target = await workspace({ reports: [REPORT, '99999999-9999-4999-8999-999999999999'] });
      const res = await token(target.slug, report);
      expect(res.status).toBe(status);
      expect(res.body.error).toBe(code);
      expect(await count(`SELECT count(*) AS n FROM issued_tokens WHERE target_id = $1`, [target.id])).toBe(0);
      expect(pbi.calls.generate).toBe(0);
      expect(await count(`SELECT count(*) AS n FROM audit_events WHERE type = 'broker.denied' AND details->>'reason' = $2 AND details->>'target' = $1`, [target.slug, code])).toBe(1);
    });

    it('an access without a report list allows no report', async () => {
      const target = await workspace({});
      const res = await token(target.slug).expect(403);
      expect(res.body.error).toBe('report_not_allowed');
      expect(pbi.calls).toEqual({ entra: 0, report: 0, generate: 0 });
    });

    it('no session: 401', async () => {
      const target = await workspace();
      await request(t.http).get(`/embed/${target.slug}/powerbi/${REPORT}/token`).expect(401);
    });

    it('tenant boundary: another tenant\'s user gets 403 without access, and only its own reports and roles with it', async () => {
      const target = await workspace({ reports: [REPORT_RLS], rowLevelSecurity: true });
      const other = await makeTenant(t.ds);
      const mallory = await makeUser(t.ds, other.id, { groups: ['analysts'] });
      const malloryCookie = await sessionCookie(mallory, other.id);
      const denied = await token(target.slug, REPORT_RLS, malloryCookie).expect(403);
      expect(denied.body.error).toBe('no_access');
      expect(pbi.calls.generate).toBe(0);
      // With an access of its own: its own list and its own mappings, never the first tenant's.
      await grantAccess(t.ds, other.id, target.id, { groupMappings: { analysts: ['Manager'] }, settings: { reports: [REPORT], rowLevelSecurity: true } });
      expect((await token(target.slug, REPORT_RLS, malloryCookie).expect(403)).body.error).toBe('report_not_allowed');
      const mine = await token(target.slug, REPORT, malloryCookie);
      // REPORT's dataset has no RLS: Power BI refuses an identity there, named as the step.
      expect(mine.status).toBe(502);
      await t.ds.query(`UPDATE tenant_target_access SET settings = $3 WHERE tenant_id = $1 AND target_id = $2`, [other.id, target.id, JSON.stringify({ reports: [REPORT_RLS], rowLevelSecurity: true })]);
      await token(target.slug, REPORT_RLS, malloryCookie).expect(200);
      const body = pbi.generateBodies[pbi.generateBodies.length - 1] as { identities: { username: string; roles: string[] }[] };
      expect(body.identities).toEqual([{ username: mallory.email, roles: ['Manager'], datasets: [DATASET_RLS] }]);
    });
  });

  describe('Microsoft failing: 502 naming the step, no secret or token anywhere', () => {
    it.each([
      ['entra', 500, /Power BI step 1 \(Entra token\) failed: HTTP 500/],
      ['report', 503, /Power BI step 2 \(report lookup\) failed: HTTP 503 \(ServiceUnavailable\)/],
      ['generate', 429, /Power BI step 3 \(GenerateToken\) failed: HTTP 429/],
    ] as const)('%s answers %s', async (step, status, message) => {
      const target = await workspace();
      pbi.fail[step] = status;
      const res = await token(target.slug).expect(502);
      expect(res.body.error).toBe('powerbi_failed');
      expect(res.body.message).toMatch(message);
      expect(JSON.stringify(res.body)).not.toContain(CLIENT_SECRET);
      expect(JSON.stringify(res.body)).not.toMatch(/entra-[0-9a-f]/);
      expect(await count(`SELECT count(*) AS n FROM issued_tokens WHERE target_id = $1`, [target.id])).toBe(0);
      const [event] = await t.ds.query(`SELECT details FROM audit_events WHERE type = 'broker.denied' AND details->>'target' = $1`, [target.slug]);
      expect(event.details).toMatchObject({ reason: 'powerbi_failed' });
      expect(JSON.stringify(event)).not.toContain(CLIENT_SECRET);
    });

    it('Entra\'s words are not passed on: only its error code and AADSTS number, and ours', async () => {
      // The fake's description names the client id and says "client secret": free text never repeated.
      const target = await workspace({ reports: [REPORT] }, { secret: 'wrong.entra.client.secret-0123456789' });
      const res = await token(target.slug).expect(502);
      expect(res.body.message).toBe('Power BI step 1 (Entra token) failed: HTTP 401 (invalid_client, AADSTS7000215): Entra refused the client id or secret (check both, and the secret\'s expiry)');
      expect(JSON.stringify(res.body)).not.toContain('wrong.entra');
      expect(JSON.stringify(res.body)).not.toContain('Invalid client secret provided');
    });

    it('an Entra tenant that does not exist is named as step 1', async () => {
      const target = await workspace({ reports: [REPORT] }, { settings: { tenantId: 'no-such-tenant.onmicrosoft.com' } });
      const res = await token(target.slug).expect(502);
      expect(res.body.message).toMatch(/step 1 \(Entra token\) failed: HTTP 400 \(invalid_request, AADSTS90002\): check the Entra tenant id/);
    });

    it('a step that does not answer in time', async () => {
      const target = await workspace({ reports: [REPORT] }, { settings: { requestTimeoutMs: 300 } });
      pbi.delayMs.generate = 1500;
      const res = await token(target.slug).expect(502);
      expect(res.body.message).toMatch(/step 3 \(GenerateToken\) failed: no answer within 300 ms/);
    });

    it('an embedUrl on another host than the target\'s base URL is refused (the browser would frame it)', async () => {
      const elsewhere = await startFakePowerBi({ tenantId: ENTRA_TENANT, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, workspaceId: WS, reports: { [REPORT]: DATASET }, embedOrigin: 'https://evil.example.com' });
      try {
        const target = await workspace({ reports: [REPORT] }, { fake: elsewhere });
        const res = await token(target.slug).expect(502);
        expect(res.body.message).toMatch(/step 2 \(report lookup\) failed: the report's embedUrl is not on https:\/\/app.powerbi.com/);
        expect(elsewhere.calls.generate).toBe(0);
      } finally {
        await elsewhere.close();
      }
    });
  });

  describe('admin API', () => {
    it('creates a Power BI target with defaults, and refuses a plain-http host that is not loopback', async () => {
      const key = await makeApiKey(t.ds, null);
      const ok = await request(t.http)
        .post('/api/v1/targets')
        .set('Authorization', `Bearer ${key}`)
        .send({ slug: `pbi-${Date.now()}`, kind: 'powerbi', baseUrl: 'https://app.powerbi.com', secrets: { secret: CLIENT_SECRET }, settings: { tenantId: ENTRA_TENANT, clientId: CLIENT_ID, workspaceId: WS } });
      expect(ok.status).toBe(201);
      expect(JSON.stringify(ok.body)).not.toContain(CLIENT_SECRET);
      const create = (settings: object) =>
        request(t.http)
          .post('/api/v1/targets')
          .set('Authorization', `Bearer ${key}`)
          .send({ slug: `pbi-bad-${Date.now()}`, kind: 'powerbi', baseUrl: 'https://app.powerbi.com', secrets: { secret: CLIENT_SECRET }, settings: { tenantId: ENTRA_TENANT, clientId: CLIENT_ID, workspaceId: WS, ...settings } });
      const http = await create({ apiHost: 'http://api.powerbi.com', authorityHost: 'http://10.0.0.1' });
      expect(http.status).toBe(400);
      expect(http.body.details.problems).toEqual([
        'settings.authorityHost must be an https origin (http only on loopback, for tests)',
        'settings.apiHost must be an https origin (http only on loopback, for tests)',
      ]);
      const guid = await create({ clientId: 'nope' });
      expect(guid.status).toBe(400);
      expect(guid.body.message).toMatch(/settings.clientId must be a GUID/);
      expect(await count(`SELECT count(*) AS n FROM targets WHERE slug LIKE 'pbi-bad-%'`)).toBe(0);
    });
  });
});

/**
 * In production the broker's calls reach public addresses only (as for Databricks,
 * outbound-production.medium-spec.ts): a loopback or private Entra or API host is refused when
 * saved (400 naming the setting) and, if one is in the database anyway, when connecting (502
 * naming the step), with nothing sent.
 */
describe('Power BI outbound calls in production', () => {
  let t: TestApp;
  let pbi: FakePowerBi;

  beforeAll(async () => {
    t = await createTestApp({ env: { NODE_ENV: 'production', PUBLIC_URL: 'https://idp.example.com', LOG_LEVEL: 'silent' } });
    pbi = await startFakePowerBi({ tenantId: ENTRA_TENANT, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, workspaceId: WS, reports: { [REPORT]: DATASET } });
  });
  afterAll(async () => {
    await pbi?.close();
    await t?.close();
  });

  it('refuses a loopback or private host when saved, naming the setting', async () => {
    const key = await makeApiKey(t.ds, null);
    for (const [field, host] of [['apiHost', pbi.url], ['authorityHost', 'https://10.0.0.5'], ['apiHost', 'https://169.254.169.254']]) {
      const res = await request(t.http)
        .post('/api/v1/targets')
        .set('Authorization', `Bearer ${key}`)
        .send({ slug: `pbi-${Math.random().toString(36).slice(2, 8)}`, kind: 'powerbi', baseUrl: 'https://app.powerbi.com', secrets: { secret: CLIENT_SECRET }, settings: { tenantId: ENTRA_TENANT, clientId: CLIENT_ID, workspaceId: WS, [field]: host } });
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(new RegExp(`settings\\.${field}: .*not a public address`));
    }
    expect(Number((await t.ds.query(`SELECT count(*) AS n FROM targets WHERE kind = 'powerbi'`))[0].n)).toBe(0);
  });

  it('refuses to connect to one already stored: 502 naming the step, nothing sent', async () => {
    const tenant = await makeTenant(t.ds);
    const user = await makeUser(t.ds, tenant.id);
    const target = await makeTarget(t, { kind: 'powerbi', baseUrl: 'https://app.powerbi.com', secret: CLIENT_SECRET, settings: { tenantId: ENTRA_TENANT, clientId: CLIENT_ID, workspaceId: WS, authorityHost: pbi.url, apiHost: pbi.url } });
    await grantAccess(t.ds, tenant.id, target.id, { settings: { reports: [REPORT] } });
    const session = await t.app.get(SessionsService).create({ id: user.id, tenantId: tenant.id }, { ip: null, userAgent: null });
    const res = await request(t.http).get(`/embed/${target.slug}/powerbi/${REPORT}/token`).set('Cookie', `${wireCookieName(SESSION_COOKIE, true)}=${session.token}`);
    expect(res.status).toBe(502);
    expect(res.body.message).toMatch(/Power BI step 1 \(Entra token\) failed: 127\.0\.0\.1 is not a public address/);
    expect(pbi.calls).toEqual({ entra: 0, report: 0, generate: 0 });
  });
});
