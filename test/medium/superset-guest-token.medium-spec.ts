import request from 'supertest';
import { SessionsService } from '../../src/auth/sessions.service';
import { makeApiKey, makeTenant, makeUser } from '../factories';
import { FakeSuperset, startFakeSuperset } from '../fakes/superset';
import { createTestApp, TestApp } from '../setup/app';

/**
 * Apache Superset guest tokens: GET|POST /embed/<target>/superset/<uuid>/guest-token, in
 * `sign` mode (we sign with GUEST_TOKEN_JWT_SECRET) and `api` mode (a service account asks
 * Superset). Every token is checked by the fake Superset (jsonwebtoken), recorded and
 * audited before it leaves; refusals audited; upstream calls counted at the fake.
 */
const GUEST_SECRET = 'superset-guest-token-secret-0a1b2c3d4e5f6a7b8c9d';
const AUD = 'https://superset.example.com/';
const USERNAME = 'embed-idp-service';
const PASSWORD = 'service-account-password-0a1b2c3d';
const DASH = '9c1f6a52-3b7e-4d8a-a1c2-5e6f7a8b9c0d';
const OTHER = '11111111-2222-4333-8444-555555555555';
const APP = 'https://host-app.example.com';
const CUSTOMER = "O'Brien & Co 東京";

describe('Superset guest tokens (/embed/:target/superset/:uuid/guest-token)', () => {
  let t: TestApp;
  let superset: FakeSuperset;
  let apiKey: string;
  let tenant: { id: string; slug: string };
  let user: { id: string; email: string };
  let cookie: string;

  const sessionCookie = async (u: { id: string }, tenantId: string) =>
    `eidp_session=${(await t.app.get(SessionsService).create({ id: u.id, tenantId }, { ip: null, userAgent: null })).token}`;
  const count = async (sql: string, params: unknown[] = []) => Number((await t.ds.query(sql, params))[0].n);
  const admin = () => ({ Authorization: `Bearer ${apiKey}` });

  /** A target through the admin API (its validation included), and the tenant's access. */
  const target = async (mode: 'api' | 'sign', over: { settings?: object; secrets?: object; access?: object | null; attributes?: object; tenantId?: string } = {}) => {
    const settings = mode === 'sign' ? { mode, audience: AUD, allowedOrigins: [APP] } : { mode, username: USERNAME, allowedOrigins: [APP] };
    const secrets = mode === 'sign' ? { secret: GUEST_SECRET } : { password: PASSWORD };
    const created = await request(t.http)
      .post('/api/v1/targets')
      .set(admin())
      .send({ slug: `superset-${Math.random().toString(36).slice(2, 10)}`, kind: 'superset', baseUrl: superset.url, settings: { ...settings, ...over.settings }, secrets: { ...secrets, ...over.secrets } });
    expect(created.status).toBe(201);
    if (over.access !== null) {
      await request(t.http)
        .put(`/api/v1/tenants/${over.tenantId ?? tenant.id}/access/${created.body.id}`)
        .set(admin())
        .send({ attributes: over.attributes ?? { customer_id: CUSTOMER }, settings: over.access ?? { dashboards: [DASH], rls: { '*': 'customer_id = {customer_id}', '12': 'region = {region} AND active = {active}' } } })
        .expect(201);
    }
    return created.body as { id: string; slug: string };
  };
  const get = (slug: string, dash = DASH, c: string | null = cookie) => {
    const r = request(t.http).get(`/embed/${slug}/superset/${dash}/guest-token`);
    return c ? r.set('Cookie', c) : r;
  };
  const post = (slug: string, dash = DASH, c: string | null = cookie) => {
    const r = request(t.http).post(`/embed/${slug}/superset/${dash}/guest-token`);
    return c ? r.set('Cookie', c) : r;
  };
  const tokensOf = (targetId: string) => count(`SELECT count(*) AS n FROM issued_tokens WHERE target_id = $1`, [targetId]);
  const denied = (slug: string, reason: string) =>
    count(`SELECT count(*) AS n FROM audit_events WHERE type = 'broker.denied' AND details->>'target' = $1 AND details->>'reason' = $2`, [slug, reason]);
  const reset = () => {
    superset.calls = { login: 0, csrf: 0, guest_token: 0 };
    superset.fail = {};
    superset.delayMs = {};
  };
  const expectedRls = [
    { clause: "customer_id = 'O''Brien & Co 東京'" },
    { dataset: 12, clause: "region = 'user-region' AND active = TRUE" },
  ];

  beforeAll(async () => {
    t = await createTestApp({ env: { SSO_SESSION_BURST: '100000', SSO_SESSION_RATE: '100000' } });
    apiKey = await makeApiKey(t.ds, null);
    superset = await startFakeSuperset({
      guestTokenSecret: GUEST_SECRET,
      audience: AUD,
      dashboards: { [DASH]: [APP], [OTHER]: [APP] },
      username: USERNAME,
      password: PASSWORD,
      csrf: true,
    });
    tenant = await makeTenant(t.ds, { attributes: { region: 'tenant-region', active: false } });
    user = await makeUser(t.ds, tenant.id, { email: `ada-${Date.now()}@acme.example`, attributes: { region: 'user-region', active: true } });
    cookie = await sessionCookie(user, tenant.id);
  });
  afterAll(async () => {
    await superset.close();
    await t.close();
  });
  beforeEach(reset);

  describe('sign mode', () => {
    it('answers {token} to GET and POST: a guest token Superset accepts, claims as its security manager builds them', async () => {
      const tg = await target('sign');
      for (const send of [get, post]) {
        const res = await send(tg.slug).expect(200);
        expect(res.headers['cache-control']).toBe('no-store');
        expect(Object.keys(res.body)).toEqual(['token']);
        const checked = superset.verifyGuestToken(res.body.token, DASH);
        expect(checked.ok).toBe(true);
        const claims = (checked as { claims: Record<string, unknown> }).claims;
        expect(claims).toEqual({
          user: { username: user.email, first_name: expect.any(String), last_name: expect.any(String) },
          resources: [{ type: 'dashboard', id: DASH }],
          rls_rules: expectedRls,
          iat: expect.any(Number),
          exp: (claims.iat as number) + 300,
          aud: AUD,
          type: 'guest',
          jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
        });
      }
      expect(superset.calls).toEqual({ login: 0, csrf: 0, guest_token: 0 });
    });

    it('records every token (its jti, iat, exp) and audits it before it leaves; the token itself is in neither', async () => {
      const tg = await target('sign', { settings: { algorithm: 'HS256', tokenTtlSeconds: 120 } });
      const answers = [await get(tg.slug).expect(200), await post(tg.slug).expect(200)];
      expect(await tokensOf(tg.id)).toBe(2);
      for (const res of answers) {
        const claims = (superset.verifyGuestToken(res.body.token) as { claims: Record<string, number | string> }).claims;
        const [rec] = await t.ds.query(`SELECT * FROM issued_tokens WHERE jti = $1`, [claims.jti]);
        expect(rec).toMatchObject({ target_id: tg.id, user_id: user.id, tenant_id: tenant.id });
        expect(Number(rec.iat)).toBe(claims.iat);
        expect(Number(rec.exp)).toBe(claims.exp);
        expect(Number(rec.exp) - Number(rec.iat)).toBe(120);
        const [event] = await t.ds.query(`SELECT * FROM audit_events WHERE type = 'broker.token_issued' AND details->>'jti' = $1`, [claims.jti]);
        expect(event.details).toMatchObject({ target: tg.slug, userId: user.id, resource: DASH });
        expect(JSON.stringify(event)).not.toContain(res.body.token);
      }
    });

    it('a target without audience or secret is refused when saved, not at the first token', async () => {
      const res = await request(t.http).post('/api/v1/targets').set(admin()).send({ slug: 'superset-no-aud', kind: 'superset', baseUrl: superset.url, settings: { mode: 'sign' }, secrets: { secret: GUEST_SECRET } });
      expect(res.status).toBe(400);
      expect(res.body.message).toContain('settings.audience is required in sign mode');
      const noUser = await request(t.http).post('/api/v1/targets').set(admin()).send({ slug: 'superset-no-user', kind: 'superset', baseUrl: superset.url, settings: { mode: 'api' }, secrets: { password: PASSWORD } });
      expect(noUser.status).toBe(400);
      expect(noUser.body.message).toContain('settings.username is required in api mode');
      const tg = await target('sign', { secrets: { secret: null } });
      const missing = await get(tg.slug).expect(409);
      expect(missing.body.message).toMatch(/GUEST_TOKEN_JWT_SECRET/);
    });
  });

  describe('api mode', () => {
    it('logs in once, fetches the CSRF token Superset asks for once, then exactly one guest_token call per token', async () => {
      const tg = await target('api');
      const first = await get(tg.slug).expect(200);
      // Cold: login, guest_token refused for want of CSRF, csrf_token, guest_token again.
      expect(superset.calls).toEqual({ login: 1, csrf: 1, guest_token: 2 });
      expect(superset.verifyGuestToken(first.body.token, DASH)).toMatchObject({ ok: true, claims: { rls_rules: expectedRls, user: { username: user.email } } });
      expect(superset.guestTokenRequests[superset.guestTokenRequests.length - 1]).toEqual({
        user: { username: user.email, first_name: expect.any(String), last_name: expect.any(String) },
        resources: [{ type: 'dashboard', id: DASH }],
        rls: expectedRls,
      });
      reset();
      const N = 5;
      for (let i = 0; i < N; i++) await (i % 2 ? post : get)(tg.slug).expect(200);
      const perToken = superset.calls.guest_token / N;
      // Upstream calls per token with a warm cache: one, and no login, no CSRF call.
      expect({ ...superset.calls, perToken }).toEqual({ login: 0, csrf: 0, guest_token: N, perToken: 1 });
      expect(await tokensOf(tg.id)).toBe(N + 1);
      expect(await count(`SELECT count(*) AS n FROM audit_events WHERE type = 'broker.token_issued' AND details->>'target' = $1`, [tg.slug])).toBe(N + 1);
    });

    it('another service account (same password) is another session: the cached one is not used for it', async () => {
      const tg = await target('api');
      await get(tg.slug).expect(200);
      reset();
      const patched = await request(t.http).patch(`/api/v1/targets/${tg.id}`).set(admin()).send({ settings: { mode: 'api', username: 'someone-else', allowedOrigins: [APP] } });
      expect(patched.status).toBe(200);
      // The fake knows only USERNAME: a new login is made, and refused (not the old account's token reused).
      const res = await get(tg.slug).expect(502);
      expect(res.body.message).toMatch(/login/);
      expect(superset.calls.login).toBe(1);
      expect(superset.calls.guest_token).toBe(0);
    });

    it('single-flight: concurrent requests on a cold cache share one login and one CSRF call', async () => {
      const tg = await target('api');
      superset.delayMs.login = 150;
      const answers = await Promise.all(Array.from({ length: 12 }, () => get(tg.slug)));
      expect(answers.map((r) => r.status)).toEqual(Array(12).fill(200));
      expect(superset.calls.login).toBe(1);
      expect(superset.calls.csrf).toBe(1);
      // Superset's guest tokens carry no jti: two for one user in one second are the same
      // bytes. Each request is still its own record (our jti).
      expect(await tokensOf(tg.id)).toBe(12);
    });

    it('signs in again when Superset no longer takes the access token, and gets a new CSRF token when the old one is refused', async () => {
      const tg = await target('api');
      await get(tg.slug).expect(200);
      superset.revokeAccessTokens();
      reset();
      const refused = await get(tg.slug).expect(502);
      expect(refused.body.message).toMatch(/guest_token.*HTTP 401/);
      await get(tg.slug).expect(200);
      expect(superset.calls.login).toBe(1);
      superset.expireCsrf();
      reset();
      await get(tg.slug).expect(200);
      expect(superset.calls).toEqual({ login: 0, csrf: 1, guest_token: 2 });
    });

    describe('a failing step: 502 naming it, audited, never the password or a token', () => {
      it.each([
        ['login', 500, /Superset login step \(login\) failed: HTTP 500/],
        ['csrf', 503, /Superset CSRF token step \(csrf\) failed: HTTP 503/],
        ['guest_token', 429, /Superset guest token step \(guest_token\) failed: HTTP 429/],
      ] as const)('%s answers %s', async (step, status, message) => {
        const tg = await target('api');
        superset.fail[step] = status;
        const res = await get(tg.slug).expect(502);
        expect(res.body.message).toMatch(message);
        expect(JSON.stringify(res.body)).not.toContain(PASSWORD);
        expect(await tokensOf(tg.id)).toBe(0);
        const [event] = await t.ds.query(`SELECT details FROM audit_events WHERE type = 'broker.denied' AND details->>'target' = $1`, [tg.slug]);
        expect(event.details).toMatchObject({ reason: 'superset_failed', step });
        expect(JSON.stringify(event)).not.toContain(PASSWORD);
      });

      it('a wrong password: the login step, named', async () => {
        const tg = await target('api', { secrets: { password: 'a-wrong-password-0a1b2c3d4e' } });
        const res = await get(tg.slug).expect(502);
        expect(res.body.message).toBe('Superset login step (login) failed: HTTP 401');
        expect(JSON.stringify(res.body)).not.toContain('a-wrong-password');
      });

      it('a step that does not answer in time', async () => {
        const tg = await target('api', { settings: { requestTimeoutMs: 300 } });
        superset.delayMs.login = 1500;
        const res = await get(tg.slug).expect(502);
        expect(res.body.message).toMatch(/\(login\) failed: no answer within 300 ms/);
      });
    });
  });

  describe('refusals: clear 4xx JSON, audited, nothing minted', () => {
    it.each([
      ['no session', (slug: string) => get(slug, DASH, null), 401, 'no_session'],
      ['a dashboard not on the access list', (slug: string) => get(slug, OTHER), 403, 'dashboard_not_allowed'],
      ['a malformed uuid', (slug: string) => get(slug, 'not-a-uuid'), 400, 'invalid_id'],
      ['an upper-case uuid', (slug: string) => get(slug, DASH.toUpperCase()), 400, 'invalid_id'],
      ['the broker endpoint of another product', (slug: string) => request(t.http).get(`/embed/${slug}/superset/${DASH}/token`).set('Cookie', cookie), 400, 'broker_not_supported'],
    ])('%s', async (_what, send, status, reason) => {
      for (const mode of ['sign', 'api'] as const) {
        const tg = await target(mode);
        reset();
        const res = await send(tg.slug);
        expect(res.status).toBe(status);
        expect(res.headers['content-type']).toMatch(/json/);
        expect(JSON.stringify(res.body)).toContain(reason);
        expect(await tokensOf(tg.id)).toBe(0);
        expect(superset.calls).toEqual({ login: 0, csrf: 0, guest_token: 0 });
        if (status !== 401) expect(await denied(tg.slug, reason)).toBe(1);
      }
    });

    it('an access without a dashboards list allows no dashboard', async () => {
      const tg = await target('sign', { access: { rls: {} } });
      const res = await get(tg.slug).expect(403);
      expect(res.body.error ?? res.body.code).toBe('dashboard_not_allowed');
      expect(await denied(tg.slug, 'dashboard_not_allowed')).toBe(1);
    });

    it('a missing attribute: 400 naming it, nothing signed or asked of Superset', async () => {
      for (const mode of ['sign', 'api'] as const) {
        const tg = await target(mode, { access: { dashboards: [DASH], rls: { '*': 'org = {org_id}' } } });
        reset();
        const res = await get(tg.slug).expect(400);
        expect(res.body.message).toMatch(/"org_id"/);
        expect(superset.calls).toEqual({ login: 0, csrf: 0, guest_token: 0 });
        expect(await tokensOf(tg.id)).toBe(0);
        expect(await denied(tg.slug, 'rls_attribute_missing')).toBe(1);
      }
    });

    it('an attribute that is no SQL literal (an array written into the row): 400 naming it, never falling through to the user\'s value', async () => {
      const tg = await target('sign', { attributes: { region: 'access-region' } });
      await t.ds.query(`UPDATE tenant_target_access SET attributes = $2 WHERE target_id = $1`, [tg.id, JSON.stringify({ customer_id: 7, region: ['emea', 'apac'] })]);
      const res = await get(tg.slug).expect(400);
      expect(res.body.message).toMatch(/Attribute "region" cannot be used/);
      expect(await denied(tg.slug, 'rls_attribute_not_literal')).toBe(1);
      expect(await tokensOf(tg.id)).toBe(0);
    });

    it('an attribute with a backslash (a quote escape on MySQL, Snowflake, BigQuery, Spark SQL): 400 naming it, nothing signed or asked', async () => {
      for (const mode of ['sign', 'api'] as const) {
        const tg = await target(mode);
        await t.ds.query(`UPDATE tenant_target_access SET attributes = $2 WHERE target_id = $1`, [tg.id, JSON.stringify({ customer_id: "\\' OR 1=1) #" })]);
        reset();
        const res = await get(tg.slug).expect(400);
        expect(res.body.message).toMatch(/Attribute "customer_id" cannot be used/);
        expect(superset.calls).toEqual({ login: 0, csrf: 0, guest_token: 0 });
        expect(await tokensOf(tg.id)).toBe(0);
        expect(await denied(tg.slug, 'rls_attribute_not_literal')).toBe(1);
      }
    });

    it('templates are checked when the access is saved: unbalanced braces, bad names, bad dataset ids', async () => {
      const tg = await target('sign', { access: null });
      for (const [rls, words] of [
        [{ '*': 'customer_id = {customer_id' }, 'settings.rls (every dataset): the clause has a "{" at position 15 that is never closed'],
        [{ '*': 'customer_id = customer_id}' }, 'settings.rls (every dataset): the clause has a "}" at position 26 that closes no "{"'],
        [{ '*': 'x = {1bad}' }, 'settings.rls (every dataset): the clause has {1bad}, which is not an attribute name'],
        [{ 'dataset-1': 'x = 1' }, 'settings.rls key "dataset-1" must be a Superset dataset id (a number) or * for every dataset'],
      ] as const) {
        const res = await request(t.http).put(`/api/v1/tenants/${tenant.id}/access/${tg.id}`).set(admin()).send({ settings: { dashboards: [DASH], rls } });
        expect(res.status).toBe(400);
        expect(res.body.details.problems.join('\n')).toContain(words);
      }
      const bad = await request(t.http).put(`/api/v1/tenants/${tenant.id}/access/${tg.id}`).set(admin()).send({ settings: { dashboards: ['not-a-uuid'] } });
      expect(bad.status).toBe(400);
      expect(bad.body.message).toContain('an embedded dashboard uuid');
    });
  });

  describe('tenant boundary', () => {
    it('another tenant: no access is a 403; with its own access it gets its own attributes, never this tenant\'s', async () => {
      const other = await makeTenant(t.ds, { attributes: { region: 'other-region', active: false } });
      const bob = await makeUser(t.ds, other.id, { email: `bob-${Date.now()}@other.example` });
      const bobCookie = await sessionCookie(bob, other.id);
      const tg = await target('sign');
      const refused = await get(tg.slug, DASH, bobCookie).expect(403);
      expect(refused.body.message).toMatch(/access/);
      expect(await count(`SELECT count(*) AS n FROM audit_events WHERE type = 'broker.denied' AND details->>'reason' = 'no_access' AND details->>'target' = $1`, [tg.slug])).toBe(1);
      await request(t.http).put(`/api/v1/tenants/${other.id}/access/${tg.id}`).set(admin())
        .send({ attributes: { customer_id: 42 }, settings: { dashboards: [OTHER], rls: { '*': 'customer_id = {customer_id}', '12': 'region = {region} AND active = {active}' } } })
        .expect(201);
      await get(tg.slug, DASH, bobCookie).expect(403);
      const res = await get(tg.slug, OTHER, bobCookie).expect(200);
      const claims = (superset.verifyGuestToken(res.body.token, OTHER) as { claims: Record<string, unknown> }).claims;
      expect(claims.rls_rules).toEqual([{ clause: 'customer_id = 42' }, { dataset: 12, clause: "region = 'other-region' AND active = FALSE" }]);
      const [rec] = await t.ds.query(`SELECT tenant_id, user_id FROM issued_tokens WHERE jti = $1`, [claims.jti]);
      expect(rec).toEqual({ tenant_id: other.id, user_id: bob.id });
    });
  });

  describe('cross-origin and the demo page', () => {
    it('echoes an allow-listed origin with credentials, refuses another before minting, answers preflights for GET and POST', async () => {
      const tg = await target('sign');
      const ok = await post(tg.slug).set('Origin', APP).expect(200);
      expect(ok.headers['access-control-allow-origin']).toBe(APP);
      expect(ok.headers['access-control-allow-credentials']).toBe('true');
      await post(tg.slug).set('Origin', 'https://evil.example').expect(403);
      await post(tg.slug).set('Origin', 'https://evil.example').set('Sec-Fetch-Site', 'cross-site').expect(403);
      expect(await tokensOf(tg.id)).toBe(1);
      // Our own page (the demo) POSTs same-origin: the browser sends Origin, and Sec-Fetch-Site
      // (which no page can set) says same-origin: no CORS needed, none given.
      const own = await post(tg.slug).set('Origin', 'http://idp.local').set('Sec-Fetch-Site', 'same-origin').expect(200);
      expect(own.headers['access-control-allow-origin']).toBeUndefined();
      expect(await tokensOf(tg.id)).toBe(2);
      const pre = await request(t.http).options(`/embed/${tg.slug}/superset/${DASH}/guest-token`).set('Origin', APP).set('Access-Control-Request-Method', 'POST').expect(204);
      expect(pre.headers['access-control-allow-methods']).toBe('GET, POST, OPTIONS');
    });

    it('/demo/superset/:target/:uuid embeds with @superset-ui/embedded-sdk served from here, framing only Superset', async () => {
      const tg = await target('sign');
      const res = await request(t.http).get(`/demo/superset/${tg.slug}/${DASH}`).set('Cookie', cookie).expect(200);
      expect(res.text).toContain(`data-token-url="/embed/${tg.slug}/superset/${DASH}/guest-token"`);
      expect(res.text).toContain(`data-superset-domain="${superset.url}"`);
      expect(res.headers['content-security-policy']).toContain(`frame-src ${superset.url}`);
      expect(res.headers['content-security-policy']).toContain("connect-src 'self';");
      const sdk = await request(t.http).get('/demo/assets/superset-embedded-sdk.js').expect(200);
      expect(sdk.headers['content-type']).toMatch(/javascript/);
      expect(sdk.text).toContain('export const embedDashboard = globalThis.supersetEmbeddedSdk.embedDashboard');
      const client = await request(t.http).get('/demo/assets/superset-demo.js').expect(200);
      expect(client.text).toContain('fetchGuestToken');
    });
  });
});
