import request from 'supertest';
import { grantAccess, makeTarget, makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { CookieJar, csrfFieldOf } from '../support/cookie-jar';

const PASSWORD = 'correct horse battery staple';

/**
 * cookie-parser turns a cookie value starting with `j:` into JSON, so
 * `eidp_session=j:["x"]` reached the session code as an array and every session route
 * answered 500 (a correct login too). The session id is derived from the cookie in one place
 * (SessionsService.idFromCookie), which accepts only a string of the form we issue.
 */
describe('a session cookie that is not a session token', () => {
  let t: TestApp;
  let slug: string;
  beforeAll(async () => {
    t = await createTestApp();
    const tenant = await makeTenant(t.ds);
    const target = await makeTarget(t, { kind: 'metabase', baseUrl: 'https://mb.example.com', secret: 's'.repeat(64), embeddingSecret: 'e'.repeat(64) });
    await grantAccess(t.ds, tenant.id, target.id);
    slug = target.slug;
  });
  afterAll(async () => {
    await t.close();
  });

  const ODD_COOKIES = ['j:["x"]', 'j:{"a":1}', 'j:"abc"', 'j:123', 'j:null', '%00', 'x'.repeat(5000), 'short', 'a'.repeat(43) + '='];

  const browserRoutes = (): [string, string][] => [
    ['GET', '/account'],
    ['GET', '/logout'],
    ['POST', '/logout'],
    ['GET', '/login'],
    ['GET', `/sso/${slug}`],
    ['GET', `/sso/${slug}?response=json`],
    ['GET', `/sso/${slug}/logout`],
    ['GET', `/embed/${slug}/dashboard/1`],
  ];

  it.each(ODD_COOKIES)('never answers 500 on a session route with eidp_session=%s', async (value) => {
    for (const [method, path] of browserRoutes()) {
      const req = method === 'GET' ? request(t.http).get(path) : request(t.http).post(path);
      const res = await req.set('Cookie', `eidp_session=${value}`).set('Accept', 'text/html');
      expect({ method, path, status: res.status < 500 ? 'not 5xx' : res.status }).toEqual({ method, path, status: 'not 5xx' });
    }
  });

  it('a correct login still works with the JSON cookie (and sets a real session)', async () => {
    const tenant = await makeTenant(t.ds);
    const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
    const jar = new CookieJar();
    jar.set('eidp_session', 'j:["x"]');
    const page = jar.store(await jar.on(request(t.http).get('/login')).expect(200));
    const res = jar.store(
      await jar
        .on(request(t.http).post('/login'))
        .type('form')
        .send({ _csrf: csrfFieldOf(page.text), tenant: tenant.slug, email: user.email, password: PASSWORD })
        .expect(303),
    );
    expect(jar.get('eidp_session')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await jar.on(request(t.http).get('/account')).expect(200);
    expect(res.headers.location).toBe('/account');
  });
});
