import request from 'supertest';
import { grantAccess, makeTarget, makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { CookieJar, signIn } from '../support/cookie-jar';

const PASSWORD = 'correct horse battery staple';

describe('logout', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  async function signedIn(tenant?: { id: string; slug: string }) {
    tenant ??= await makeTenant(t.ds);
    const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
    const jar = new CookieJar();
    expect((await signIn(request(t.http), jar, { tenant: tenant.slug, email: user.email, password: PASSWORD })).status).toBe(303);
    const [session] = await t.ds.query(`SELECT id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL`, [user.id]);
    return { tenant, user, jar, sessionId: session.id as string, token: jar.get('eidp_session')! };
  }

  const isSignedIn = async (token: string) => {
    const jar = new CookieJar();
    jar.set('eidp_session', token);
    return (await jar.on(request(t.http).get('/account'))).status === 200;
  };

  it.each(['GET', 'POST'] as const)('%s /logout ends the session, clears the cookie, audits, and shows the signed-out page', async (method) => {
    const s = await signedIn();
    const req = method === 'GET' ? request(t.http).get('/logout') : request(t.http).post('/logout');
    const res = s.jar.store(await s.jar.on(req).expect(200));
    expect(res.text).toContain('You are signed out');
    expect(res.text).toContain(`href="/login?tenant=${s.tenant.slug}"`);
    expect(res.headers['cache-control']).toBe('no-store');
    const cleared = (res.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('eidp_session='));
    expect(cleared).toMatch(/^eidp_session=;/);
    expect(cleared).toMatch(/Expires=Thu, 01 Jan 1970/);
    expect(s.jar.get('eidp_session')).toBeUndefined();

    expect(await isSignedIn(s.token)).toBe(false);
    const [row] = await t.ds.query(`SELECT revoked_at FROM sessions WHERE id = $1`, [s.sessionId]);
    expect(row.revoked_at).not.toBeNull();
    const events = await t.ds.query(`SELECT actor, details FROM audit_events WHERE type = 'logout' AND tenant_id = $1`, [s.tenant.id]);
    expect(events).toEqual([{ actor: `user:${s.user.id}`, details: { userId: s.user.id, sessionId: s.sessionId } }]);
  });

  it('without a session still answers with the signed-out page, and audits nothing', async () => {
    const before = (await t.ds.query(`SELECT count(*)::int AS n FROM audit_events WHERE type = 'logout'`))[0].n;
    const res = await request(t.http).get('/logout').expect(200);
    expect(res.text).toContain('You are signed out');
    expect(res.text).toContain('href="/login"');
    expect((await t.ds.query(`SELECT count(*)::int AS n FROM audit_events WHERE type = 'logout'`))[0].n).toBe(before);
  });

  it('redirects to a return_to path on this service', async () => {
    const s = await signedIn();
    const res = await s.jar.on(request(t.http).get('/logout').query({ return_to: '/login?tenant=acme' })).expect(303);
    expect(res.headers.location).toBe('/login?tenant=acme');
    expect(await isSignedIn(s.token)).toBe(false);
  });

  it.each(['https://evil.example/', '//evil.example/', '/\\evil.example', 'javascript:alert(1)'])(
    'ignores the return_to %j: the session still ends, the signed-out page is shown',
    async (returnTo) => {
      const s = await signedIn();
      const res = await s.jar.on(request(t.http).post('/logout').type('form').send({ return_to: returnTo })).expect(200);
      expect(res.headers.location).toBeUndefined();
      expect(res.text).toContain('You are signed out');
      expect(res.text).not.toContain('evil.example');
      expect(await isSignedIn(s.token)).toBe(false);
    },
  );

  it("redirects to the tenant's registered logout landing page, and only for that tenant's session", async () => {
    const tenant = await makeTenant(t.ds);
    await t.ds.query(`UPDATE tenants SET logout_landing_url = $2 WHERE id = $1`, [tenant.id, 'https://app.customer.example/signed-out']);
    const s = await signedIn(tenant);
    const res = await s.jar.on(request(t.http).get('/logout').query({ return_to: 'https://app.customer.example/signed-out' })).expect(303);
    expect(res.headers.location).toBe('https://app.customer.example/signed-out');

    // Another page on the same host is not registered.
    const s2 = await signedIn(tenant);
    await s2.jar.on(request(t.http).get('/logout').query({ return_to: 'https://app.customer.example/elsewhere' })).expect(200);
    // Another tenant's session may not use it.
    const s3 = await signedIn();
    await s3.jar.on(request(t.http).get('/logout').query({ return_to: 'https://app.customer.example/signed-out' })).expect(200);
    // Nor may a visitor without a session.
    await request(t.http).get('/logout').query({ return_to: 'https://app.customer.example/signed-out' }).expect(200);
  });

  describe('BI tools the session signed in to', () => {
    it('are signed out in hidden iframes allowed by the CSP, then the page moves on to an allowed return_to', async () => {
      const tenant = await makeTenant(t.ds);
      const target = await makeTarget(t, {
        kind: 'metabase',
        baseUrl: 'https://metabase.example.test',
        secret: 'x'.repeat(64),
        settings: { logoutLandingUrl: 'https://bi-landing.example.test/bye' },
      });
      await grantAccess(t.ds, tenant.id, target.id);
      const s = await signedIn(tenant);
      await t.ds.query(`UPDATE sessions SET targets_used = ARRAY[$2::uuid] WHERE id = $1`, [s.sessionId, target.id]);

      const res = await s.jar.on(request(t.http).get('/logout').query({ return_to: 'https://bi-landing.example.test/bye' })).expect(200);
      expect(res.text).toContain('<iframe class="bi-logout" src="https://metabase.example.test/auth/logout"');
      expect(res.headers['content-security-policy']).toContain('frame-src https://metabase.example.test');
      expect(res.text).toContain('<meta http-equiv="refresh" content="3;url=https://bi-landing.example.test/bye">');
      expect(res.text).toContain('href="https://bi-landing.example.test/bye"');
      expect(await isSignedIn(s.token)).toBe(false);
    });

    it("accept a target's landing page as return_to and redirect at once when there is nothing to sign out of", async () => {
      const tenant = await makeTenant(t.ds);
      const target = await makeTarget(t, {
        kind: 'metabase',
        baseUrl: 'https://metabase2.example.test',
        secret: 'y'.repeat(64),
        settings: { logoutLandingUrl: 'https://bi-landing2.example.test/bye' },
      });
      await grantAccess(t.ds, tenant.id, target.id);
      const s = await signedIn(tenant);
      const res = await s.jar.on(request(t.http).get('/logout').query({ return_to: 'https://bi-landing2.example.test/bye' })).expect(303);
      expect(res.headers.location).toBe('https://bi-landing2.example.test/bye');
    });
  });
});
