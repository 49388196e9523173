import request from 'supertest';
import { configToken } from '../../src/config/config.module';
import type { Config } from '../../src/config/configuration';
import { SessionsService } from '../../src/auth/sessions.service';
import { grantAccess, makeTarget, makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { CookieJar, csrfFieldOf, signIn } from '../support/cookie-jar';

/**
 * Cross-site request forgery against the operator console. An attacker who can plant a cookie
 * on the service's host (a sibling subdomain, a plain-http hop) must not be able to pair it
 * with a token it fetched itself (an anonymous GET /login) and act with the operator's
 * session; and a request whose Origin is another site is refused whatever it carries.
 */
const OP_EMAIL = 'root@platform.example';
const OP_PASSWORD = 'operator password 0001';

describe('console CSRF: tokens bound to the session, Origin checked', () => {
  let t: TestApp;
  let op: CookieJar;

  beforeAll(async () => {
    t = await createTestApp({ env: { BOOTSTRAP_OPERATOR_EMAIL: OP_EMAIL, BOOTSTRAP_OPERATOR_PASSWORD: OP_PASSWORD } });
    op = new CookieJar();
    expect((await signIn(request(t.http), op, { tenant: 'operators', email: OP_EMAIL, password: OP_PASSWORD })).status).toBe(303);
  });
  afterAll(async () => {
    await t.close();
  });

  /** What the attacker holds: its own eidp_csrf cookie and the login page's token for it. */
  async function attackerPair(): Promise<{ cookie: string; token: string }> {
    const anon = new CookieJar();
    const page = anon.store(await request(t.http).get('/login'));
    const value = anon.get('eidp_csrf');
    expect(value).toBeDefined();
    return { cookie: `eidp_csrf=${value}`, token: csrfFieldOf(page.text) };
  }

  /** The operator's session cookie with the attacker's planted CSRF cookie beside it. */
  const planted = (cookie: string) => `eidp_session=${op.get('eidp_session')}; ${cookie}`;

  it('refuses a console POST with a planted CSRF cookie and an anonymous login token: no tenant created', async () => {
    const { cookie, token } = await attackerPair();
    const res = await request(t.http).post('/console/tenants').set('Cookie', planted(cookie)).type('form').send({ _csrf: token, name: 'Forged', slug: 'forged-tenant' });
    expect(res.status).toBe(400);
    expect(res.text).toContain('The form expired');
    expect(await t.ds.query(`SELECT 1 FROM tenants WHERE slug = 'forged-tenant'`)).toHaveLength(0);
  });

  it('refuses the same forgery that would repoint a target\'s base URL: SSO tokens keep going to the real host', async () => {
    const target = await makeTarget(t, { kind: 'metabase', baseUrl: 'https://mb.example', secret: 'metabase-jwt-secret-0123456789abcdef' });
    const { cookie, token } = await attackerPair();
    const res = await request(t.http)
      .post(`/console/targets/${target.id}`)
      .set('Cookie', planted(cookie))
      .type('form')
      .send({ _csrf: token, name: target.slug, baseUrl: 'https://evil.example' });
    expect(res.status).toBe(400);
    expect(await t.ds.query(`SELECT base_url FROM targets WHERE id = $1`, [target.id])).toEqual([{ base_url: 'https://mb.example' }]);
  });

  it('refuses the same forgery that would trust an attacker\'s issuer or replace a tenant\'s company sign-in', async () => {
    const tenant = await makeTenant(t.ds);
    const { cookie, token } = await attackerPair();
    const issuer = await request(t.http).post(`/console/tenants/${tenant.id}/sign-in/issuers`).set('Cookie', planted(cookie)).type('form')
      .send({ _csrf: token, issuer: 'https://evil.example/', audience: 'evil', algorithms: 'RS256', jitProvisioning: 'true' });
    expect(issuer.status).toBe(400);
    const provider = await request(t.http).post(`/console/tenants/${tenant.id}/sign-in/provider`).set('Cookie', planted(cookie)).type('form')
      .send({ _csrf: token, issuer: 'https://evil.example', clientId: 'evil', clientSecret: 'evil-secret' });
    expect(provider.status).toBe(400);
    expect(await t.ds.query(`SELECT 1 FROM trusted_issuers WHERE tenant_id = $1 UNION ALL SELECT 1 FROM upstream_oidc_providers WHERE tenant_id = $1`, [tenant.id])).toHaveLength(0);
  });

  it('refuses the forgery on the hand-off and global API key forms: no secret, no key, no setting changed', async () => {
    const tenant = await makeTenant(t.ds);
    const path = `/console/tenants/${tenant.id}/handoff`;
    for (const [url, body] of [
      [path, { jitProvisioning: 'true' }],
      [`${path}/secrets`, {}],
      ['/console/api-keys', { name: 'forged-global' }],
    ] as const) {
      const { cookie, token } = await attackerPair();
      const res = await request(t.http).post(url).set('Cookie', planted(cookie)).type('form').send({ _csrf: token, ...body });
      expect(res.status).toBe(400);
    }
    expect(await t.ds.query(`SELECT 1 FROM handoff_settings WHERE tenant_id = $1`, [tenant.id])).toHaveLength(0);
    expect(await t.ds.query(`SELECT 1 FROM handoff_secrets WHERE tenant_id = $1`, [tenant.id])).toHaveLength(0);
    expect(await t.ds.query(`SELECT 1 FROM api_keys WHERE name = 'forged-global'`)).toHaveLength(0);
  });

  it('a console page\'s token works for the console, not for the login form; the login page\'s not for the console', async () => {
    const consoleToken = csrfFieldOf((await op.on(request(t.http).get('/console/tenants'))).text);
    const ok = await op.on(request(t.http).post('/console/tenants')).type('form').send({ _csrf: consoleToken, name: 'Real', slug: 'real-tenant' });
    expect(ok.status).toBe(303);

    // The operator's own login-page token (same browser, same cookies) is not a console token.
    const loginToken = csrfFieldOf(op.store(await op.on(request(t.http).get('/login'))).text);
    const crossed = await op.on(request(t.http).post('/console/tenants')).type('form').send({ _csrf: loginToken, name: 'Crossed', slug: 'crossed-tenant' });
    expect(crossed.status).toBe(400);
    expect(await t.ds.query(`SELECT 1 FROM tenants WHERE slug = 'crossed-tenant'`)).toHaveLength(0);

    // Nor is a console token a login token.
    const login = await op.on(request(t.http).post('/login')).type('form').send({ _csrf: consoleToken, tenant: 'operators', email: OP_EMAIL, password: OP_PASSWORD });
    expect(login.status).toBe(400);
    expect(login.text).toContain('expired');
  });

  it('a console token is bound to its session: another session of the same operator cannot use it', async () => {
    const other = new CookieJar();
    expect((await signIn(request(t.http), other, { tenant: 'operators', email: OP_EMAIL, password: OP_PASSWORD })).status).toBe(303);
    const token = csrfFieldOf((await other.on(request(t.http).get('/console/tenants'))).text);
    const res = await op.on(request(t.http).post('/console/tenants')).type('form').send({ _csrf: token, name: 'Other', slug: 'other-session' });
    expect(res.status).toBe(400);
    expect(await t.ds.query(`SELECT 1 FROM tenants WHERE slug = 'other-session'`)).toHaveLength(0);
  });

  it('refuses a state-changing request from another site (Origin, Sec-Fetch-Site) with a 403 that says why', async () => {
    const token = csrfFieldOf((await op.on(request(t.http).get('/console/tenants'))).text);
    const evil = await op.on(request(t.http).post('/console/tenants')).set('Origin', 'https://evil.example').type('form').send({ _csrf: token, name: 'E', slug: 'evil-origin' });
    expect(evil.status).toBe(403);
    expect(evil.text).toContain('another site');
    const sibling = await op.on(request(t.http).post('/console/tenants')).set('Sec-Fetch-Site', 'same-site').type('form').send({ _csrf: token, name: 'S', slug: 'sibling-site' });
    expect(sibling.status).toBe(403);
    expect(await t.ds.query(`SELECT slug FROM tenants WHERE slug IN ('evil-origin', 'sibling-site')`)).toHaveLength(0);

    // Our own origin passes (the browser sends it on every POST).
    const ours = await op.on(request(t.http).post('/console/tenants')).set('Origin', new URL(t.app.get<Config<'app'>>(configToken('app')).publicUrl).origin).set('Sec-Fetch-Site', 'same-origin').type('form').send({ _csrf: token, name: 'O', slug: 'own-origin' });
    expect(ours.status).toBe(303);

    // The login and logout forms likewise.
    const anon = new CookieJar();
    const page = anon.store(await request(t.http).get('/login'));
    const login = await anon.on(request(t.http).post('/login')).set('Origin', 'https://evil.example').type('form').send({ _csrf: csrfFieldOf(page.text), tenant: 'operators', email: OP_EMAIL, password: OP_PASSWORD });
    expect(login.status).toBe(403);
    expect(anon.store(login) && anon.get('eidp_session')).toBeUndefined();
    const logout = await op.on(request(t.http).post('/logout')).set('Origin', 'https://evil.example');
    expect(logout.status).toBe(403);
    expect((await op.on(request(t.http).get('/console'))).status).toBe(200);
  });
});

/**
 * Over https (PUBLIC_URL https://...) the session and CSRF cookies are `__Host-` cookies, which
 * no other host (a sibling subdomain) and no plain-http hop can set; a plain-named cookie is
 * never read there — neither by Express's routes nor by the SSO fast path in front of them.
 */
describe('__Host- cookies over https', () => {
  let t: TestApp;
  const PASSWORD = 'correct horse battery staple';

  beforeAll(async () => {
    t = await createTestApp({ env: { PUBLIC_URL: 'https://idp.example' } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('sets __Host-eidp_csrf and __Host-eidp_session (Secure, Path=/, no Domain) and reads only those', async () => {
    const tenant = await makeTenant(t.ds);
    const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
    const jar = new CookieJar();
    const res = await signIn(request(t.http), jar, { tenant: tenant.slug, email: user.email, password: PASSWORD });
    expect(res.status).toBe(303);
    expect(jar.names().sort()).toEqual(['__Host-eidp_csrf', '__Host-eidp_session']);
    for (const name of jar.names()) {
      const c = jar.cookie(name)!;
      expect(c.attributes).toMatchObject({ secure: true, path: '/', httponly: true });
      expect(c.attributes.domain).toBeUndefined();
    }
    expect((await jar.on(request(t.http).get('/account'))).status).toBe(200);

    // The same token under the plain name (what another host could plant) is no session here.
    const plain = await request(t.http).get('/account').set('Cookie', `eidp_session=${jar.get('__Host-eidp_session')}`);
    expect(plain.status).toBe(303);
    expect(plain.headers.location).toMatch(/^\/login/);
    // Nor is a plain eidp_csrf a login form's pre-session.
    const page = await request(t.http).get('/login').set('Cookie', `eidp_csrf=${jar.get('__Host-eidp_csrf')}`);
    expect(String(page.headers['set-cookie'])).toMatch(/^__Host-eidp_csrf=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; Secure; SameSite=None/);

    // Logout clears the prefixed cookie.
    const out = await jar.on(request(t.http).post('/logout'));
    expect(String(out.headers['set-cookie'])).toMatch(/^__Host-eidp_session=;/);
  });

  it('the SSO fast path reads __Host-eidp_session too, and not a plain eidp_session', async () => {
    const tenant = await makeTenant(t.ds);
    const user = await makeUser(t.ds, tenant.id);
    const target = await makeTarget(t, { kind: 'metabase', baseUrl: 'https://mb.example', secret: 'metabase-jwt-secret-0123456789abcdef' });
    await grantAccess(t.ds, tenant.id, target.id);
    const { token } = await t.app.get(SessionsService).create({ id: user.id, tenantId: tenant.id }, { ip: null, userAgent: null });
    const ok = await request(t.http).get(`/sso/${target.slug}`).set('Cookie', `__Host-eidp_session=${token}`);
    expect(ok.status).toBe(302);
    expect(ok.headers.location).toMatch(/^https:\/\/mb\.example\/auth\/sso\?jwt=/);
    const plain = await request(t.http).get(`/sso/${target.slug}`).set('Cookie', `eidp_session=${token}`);
    expect(plain.status).toBe(302);
    expect(plain.headers.location).toMatch(/^\/login\?/);
  });
});
