import { jwtVerify } from 'jose';
import request from 'supertest';
import { SessionsService } from '../../src/auth/sessions.service';
import { grantAccess, makeTarget, makeTenant, makeUser } from '../factories';
import { FakeMetabase, startFakeMetabase } from '../fakes/metabase';
import { createTestApp, TestApp } from '../setup/app';

/**
 * The Metabase Embedding SDK's flow: it fetches our IdP URI with ?response=json from the host
 * app's origin, with credentials, and wants 200 {"jwt": ...}; without a session a JSON 401.
 * the product's contract: CORS with credentials for allow-listed origins only, never `*`.
 */
const SECRET = 'mb-sdk-secret-for-tests-0123456789abcdef';
const APP = 'https://app.example.com';
const EVIL = 'https://evil.example.com';

describe('Metabase Embedding SDK (GET /sso/:target?response=json)', () => {
  let t: TestApp;
  let mb: FakeMetabase;
  let target: { id: string; slug: string };
  let cookie: string;
  let userId: string;
  let tenantId: string;

  beforeAll(async () => {
    t = await createTestApp();
    mb = await startFakeMetabase({ jwtSecret: SECRET });
    const tenant = await makeTenant(t.ds);
    tenantId = tenant.id;
    const user = await makeUser(t.ds, tenant.id, { email: 'sdk@example.com', groups: ['analysts'] });
    userId = user.id;
    target = await makeTarget(t, { kind: 'metabase', baseUrl: mb.url, secret: SECRET, settings: { allowedOrigins: [APP] } });
    await grantAccess(t.ds, tenant.id, target.id, { groupMappings: { analysts: ['Analysts'] } });
    const s = await t.app.get(SessionsService).create({ id: user.id, tenantId: tenant.id }, { ip: null, userAgent: null });
    cookie = `eidp_session=${s.token}`;
  });
  afterAll(async () => {
    await mb.close();
    await t.close();
  });

  const tokens = async () => Number((await t.ds.query(`SELECT count(*) AS n FROM issued_tokens`))[0].n);

  it('answers a preflight from an allow-listed origin with 204 and credentialed CORS', async () => {
    const res = await request(t.http)
      .options(`/sso/${target.slug}?response=json`)
      .set('Origin', APP)
      .set('Access-Control-Request-Method', 'GET')
      .expect(204);
    expect(res.headers['access-control-allow-origin']).toBe(APP);
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    expect(res.headers['access-control-allow-methods']).toContain('GET');
    expect(res.headers['vary']).toContain('Origin');
  });

  it('refuses a preflight from any other origin (403, no CORS headers) and for an unknown target (404)', async () => {
    const res = await request(t.http).options(`/sso/${target.slug}`).set('Origin', EVIL).set('Access-Control-Request-Method', 'GET').expect(403);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    await request(t.http).options(`/sso/${target.slug}`).set('Access-Control-Request-Method', 'GET').expect(403);
    await request(t.http).options('/sso/no-such-target').set('Origin', APP).expect(404);
  });

  it('gives a signed-in user 200 {jwt} with CORS for the allow-listed origin; the token is what Metabase accepts', async () => {
    const before = await tokens();
    const res = await request(t.http).get(`/sso/${target.slug}?response=json`).set('Origin', APP).set('Cookie', cookie).expect(200);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(res.headers['access-control-allow-origin']).toBe(APP);
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    expect(res.headers['vary']).toContain('Origin');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(Object.keys(res.body)).toEqual(['jwt']);

    // Verified independently (jose), with the secret's UTF-8 bytes.
    const { payload, protectedHeader } = await jwtVerify(res.body.jwt, new TextEncoder().encode(SECRET), { algorithms: ['HS256'] });
    expect(protectedHeader.alg).toBe('HS256');
    expect(payload).toMatchObject({ email: 'sdk@example.com', groups: ['Analysts'] });
    expect((payload.exp as number) - (payload.iat as number)).toBe(120);
    expect(await tokens()).toBe(before + 1);
    const [rec] = await t.ds.query(`SELECT user_id FROM issued_tokens WHERE jti = $1`, [payload.jti]);
    expect(rec.user_id).toBe(userId);
    const [ev] = await t.ds.query(`SELECT details FROM audit_events WHERE type = 'sso.token_issued' AND details->>'jti' = $1`, [payload.jti]);
    expect(ev.details.flow).toBe('json');

    // And the fake Metabase takes it.
    const login = await fetch(`${mb.url}/auth/sso?jwt=${res.body.jwt}&return_to=%2F`, { redirect: 'manual' });
    expect(login.status).toBe(302);
  });

  it("the SDK's whole flow as its source does it: discovery, the credentialed fetch, the exchange, refresh by our exp", async () => {
    // Metabase's "JWT Identity Provider URI" as an operator may set it, with a tenant hint.
    const tenantSlug = (await t.ds.query(`SELECT slug FROM tenants WHERE id = $1`, [tenantId]))[0].slug;
    const idp = await startFakeMetabase({ jwtSecret: SECRET, idpUri: `http://127.0.0.1/sso/${target.slug}?tenant=${tenantSlug}` });
    try {
      // 1. Discovery (embedding/auth-common connectToInstanceAuthSso): Metabase names our URI.
      const sdkHeaders = { 'X-Metabase-Client': 'embedding-sdk-react', 'X-Metabase-Client-Version': '0.58.0' };
      const discovery = (await (await fetch(`${idp.url}/auth/sso?preferred_method=jwt`, { headers: sdkHeaders })).json()) as { url: string; hash: string };

      // 2. refreshUserJwt: new URL(uri, window.location.origin), searchParams.set("response", "json"),
      //    fetch GET with credentials: "include" and no headers of its own — a simple CORS request
      //    (no preflight); the browser adds Origin, the Sec-Fetch-* headers and the cookie.
      const url = new URL(discovery.url, APP);
      url.searchParams.set('response', 'json');
      expect(url.search).toBe(`?tenant=${tenantSlug}&response=json`);
      const res = await request(t.http)
        .get(`${url.pathname}${url.search}`)
        .set('Origin', APP)
        .set('Accept', '*/*')
        .set('Sec-Fetch-Site', 'cross-site')
        .set('Sec-Fetch-Mode', 'cors')
        .set('Sec-Fetch-Dest', 'empty')
        .set('Cookie', cookie)
        .expect(200);
      expect(res.headers['access-control-allow-origin']).toBe(APP);
      expect(res.headers['access-control-allow-credentials']).toBe('true');
      // It reads the body as text, JSON.parse()s it and wants an object with a string `jwt`.
      const body = JSON.parse(res.text) as { jwt: unknown };
      expect(typeof body.jwt).toBe('string');

      // 3. The exchange (jwtDefaultRefreshTokenFunction): Metabase answers the session with
      //    our JWT's exp, which is what the SDK refreshes by (exp * 1000 < Date.now()).
      const exchange = await fetch(`${idp.url}/auth/sso?jwt=${body.jwt}`, { headers: { ...sdkHeaders, 'X-Metabase-SDK-JWT-Hash': discovery.hash } });
      expect(exchange.status).toBe(200);
      const session = (await exchange.json()) as { status: string; id: string; exp: number; iat: number };
      const { payload } = await jwtVerify(body.jwt as string, new TextEncoder().encode(SECRET), { algorithms: ['HS256'] });
      expect(session).toMatchObject({ status: 'ok', exp: payload.exp, iat: payload.iat });
      expect(Number.isInteger(session.exp)).toBe(true);
      expect(session.exp * 1000).toBeGreaterThan(Date.now());
      expect(session.exp - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(120);

      // 4. Once exp passes the SDK runs step 2 again: a new token, which Metabase takes too.
      const again = await request(t.http).get(`${url.pathname}${url.search}`).set('Origin', APP).set('Sec-Fetch-Site', 'cross-site').set('Sec-Fetch-Mode', 'cors').set('Cookie', cookie).expect(200);
      expect(again.body.jwt).not.toBe(body.jwt);
      const second = await fetch(`${idp.url}/auth/sso?jwt=${again.body.jwt}`, { headers: { ...sdkHeaders, 'X-Metabase-SDK-JWT-Hash': discovery.hash } });
      expect(second.status).toBe(200);
      expect(idp.rejections).toEqual([]);
    } finally {
      await idp.close();
    }
  });

  it('mints a fresh token on every call (the SDK refreshes when exp passes)', async () => {
    const a = await request(t.http).get(`/sso/${target.slug}?response=json`).set('Origin', APP).set('Cookie', cookie).expect(200);
    const b = await request(t.http).get(`/sso/${target.slug}?response=json`).set('Origin', APP).set('Cookie', cookie).expect(200);
    expect(a.body.jwt).not.toBe(b.body.jwt);
  });

  it('answers a JSON 401 without a session: no redirect, no HTML, still readable by the allowed origin', async () => {
    const res = await request(t.http).get(`/sso/${target.slug}?response=json`).set('Origin', APP).set('Accept', 'text/html').expect(401);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(res.headers.location).toBeUndefined();
    expect(res.body).toMatchObject({ statusCode: 401, error: 'no_session' });
    expect(res.headers['access-control-allow-origin']).toBe(APP);
    expect(res.headers['access-control-allow-credentials']).toBe('true');
  });

  it('refuses a signed-in user calling from an origin that is not allow-listed: 403, nothing minted', async () => {
    const before = await tokens();
    const res = await request(t.http).get(`/sso/${target.slug}?response=json`).set('Origin', EVIL).set('Cookie', cookie).expect(403);
    expect(res.body.error).toBe('origin_not_allowed');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(await tokens()).toBe(before);
    const [ev] = await t.ds.query(`SELECT details FROM audit_events WHERE type = 'sso.denied' AND details->>'reason' = 'origin_not_allowed' ORDER BY id DESC LIMIT 1`);
    expect(ev.details).toMatchObject({ target: target.slug, origin: EVIL });
  });

  it('refuses a cross-site request that carries no Origin (an <img> or <script> with the cookie): nothing minted', async () => {
    const before = await tokens();
    const res = await request(t.http).get(`/sso/${target.slug}?response=json`).set('Sec-Fetch-Site', 'cross-site').set('Sec-Fetch-Mode', 'no-cors').set('Cookie', cookie).expect(403);
    expect(res.body.error).toBe('origin_not_allowed');
    expect(await tokens()).toBe(before);
  });

  it('needs no CORS headers for a same-origin call (no Origin header)', async () => {
    const res = await request(t.http).get(`/sso/${target.slug}?response=json`).set('Cookie', cookie).expect(200);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(typeof res.body.jwt).toBe('string');
  });

  it('gives JSON errors for an unknown target or a tenant without access', async () => {
    const unknown = await request(t.http).get('/sso/no-such-target?response=json').set('Cookie', cookie).expect(404);
    expect(unknown.body.error).toBe('target_not_found');
    const other = await makeTarget(t, { kind: 'metabase', baseUrl: mb.url, secret: SECRET, settings: { allowedOrigins: [APP] } });
    const res = await request(t.http).get(`/sso/${other.slug}?response=json`).set('Origin', APP).set('Cookie', cookie).expect(403);
    expect(res.body.error).toBe('no_access');
    expect(res.headers['access-control-allow-origin']).toBe(APP);
    const [denied] = await t.ds.query(
      `SELECT count(*) AS n FROM audit_events WHERE type = 'sso.denied' AND tenant_id = $1 AND details->>'target' = $2`,
      [tenantId, other.slug],
    );
    expect(Number(denied.n)).toBe(1);
  });

  it('never answers with a wildcard origin', async () => {
    const res = await request(t.http).get(`/sso/${target.slug}?response=json`).set('Origin', APP).set('Cookie', cookie).expect(200);
    expect(res.headers['access-control-allow-origin']).not.toBe('*');
  });
});
