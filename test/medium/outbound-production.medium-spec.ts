import request from 'supertest';
import { SessionsService } from '../../src/auth/sessions.service';
import { wireCookieName } from '../../src/common/cookie-names';
import { SESSION_COOKIE } from '../../src/common/route-protection';
import { grantAccess, makeApiKey, makeTarget, makeTenant, makeUser } from '../factories';
import { FakeDatabricks, startFakeDatabricks } from '../fakes/databricks';
import { createTestApp, TestApp } from '../setup/app';

/**
 * With NODE_ENV=production the service's own calls (the Databricks broker) reach public
 * addresses only: a loopback base URL is refused when saved (400) and, if one is in the
 * database anyway (or a name resolves there later), when connecting (502 naming why), with
 * nothing sent. OUTBOUND_ALLOW_PRIVATE lets an operator allow a range. (Outside production the
 * suite's loopback fakes work: databricks-broker.medium-spec.ts.)
 */
const CLIENT_ID = '6f1c2a44-1d1e-4c8e-9d6c-2a8b9c1d0e7f';
const CLIENT_SECRET = 'dose-fake-sp-secret-0a1b2c3d4e5f6a7b8c9d';
const DASH = '01ef0a1b2c3d4e5f6a7b8c9d0e1f2a3b';

describe.each([
  ['production, no exception', {}, false],
  ['production, OUTBOUND_ALLOW_PRIVATE=127.0.0.0/8', { OUTBOUND_ALLOW_PRIVATE: '127.0.0.0/8' }, true],
] as const)('outbound calls in %s', (_name, env, allowed) => {
  let t: TestApp;
  let dbx: FakeDatabricks;
  let key: string;
  let cookie: string;
  let tenantId: string;

  beforeAll(async () => {
    t = await createTestApp({ env: { NODE_ENV: 'production', PUBLIC_URL: 'https://idp.example.com', LOG_LEVEL: 'silent', ...env } });
    dbx = await startFakeDatabricks({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, dashboards: [DASH] });
    key = await makeApiKey(t.ds, null);
    const tenant = await makeTenant(t.ds);
    tenantId = tenant.id;
    const user = await makeUser(t.ds, tenant.id, { attributes: { customer: 'c1' } });
    // Over https (PUBLIC_URL) the session cookie is a __Host- cookie.
    cookie = `${wireCookieName(SESSION_COOKIE, true)}=${(await t.app.get(SessionsService).create({ id: user.id, tenantId }, { ip: null, userAgent: null })).token}`;
  });
  afterAll(async () => {
    await dbx?.close();
    await t?.close();
  });

  it(allowed ? 'accepts a loopback workspace' : 'refuses a loopback or private workspace URL when it is saved, naming baseUrl', async () => {
    for (const baseUrl of [dbx.url, 'http://localhost:8080', 'http://169.254.169.254', 'http://10.0.0.5']) {
      const res = await request(t.http)
        .post('/api/v1/targets')
        .set('Authorization', `Bearer ${key}`)
        .send({ slug: `dbx-${Math.random().toString(36).slice(2, 8)}`, kind: 'databricks', baseUrl, secrets: { secret: CLIENT_SECRET }, settings: { workspaceId: '1', clientId: CLIENT_ID } });
      if (allowed && baseUrl === dbx.url) expect(res.status).toBe(201);
      else if (!allowed) {
        expect(res.status).toBe(400);
        expect(res.body.message).toMatch(/baseUrl: .*(not a public address|loopback)/);
      }
    }
    // A product the service never calls (browsers follow its URLs) keeps any base URL.
    await request(t.http)
      .post('/api/v1/targets')
      .set('Authorization', `Bearer ${key}`)
      .send({ slug: `mb-${Math.random().toString(36).slice(2, 8)}`, kind: 'metabase', baseUrl: 'http://127.0.0.1:3001', secrets: { secret: 'a'.repeat(16) + 'b'.repeat(16) + '0123456789' } })
      .expect((r) => expect(r.status).not.toBe(500));
  });

  it(allowed ? 'mints through a loopback workspace' : 'refuses to connect to a loopback workspace already in the database: 502 naming why, nothing sent', async () => {
    const target = await makeTarget(t, { kind: 'databricks', baseUrl: dbx.url, secret: CLIENT_SECRET, settings: { workspaceId: '1', clientId: CLIENT_ID } });
    await grantAccess(t.ds, tenantId, target.id, { settings: { externalValueAttribute: 'customer' } });
    const res = await request(t.http).get(`/embed/${target.slug}/databricks/${DASH}/token`).set('Cookie', cookie);
    if (allowed) {
      expect(res.status).toBe(200);
      return;
    }
    expect(res.status).toBe(502);
    expect(res.body.message).toMatch(/step 1 .*127\.0\.0\.1 is not a public address/);
    expect(dbx.calls).toEqual({ service: 0, tokeninfo: 0, scoped: 0 });
  });
});
