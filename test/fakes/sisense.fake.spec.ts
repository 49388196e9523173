import { createHmac, randomUUID } from 'node:crypto';
import { MiniBrowser } from './metabase';
import { FakeSisense, SISENSE_SESSION_COOKIE, startFakeSisense } from './sisense';

/**
 * The fake is only worth something if it refuses what Sisense refuses: one test per rule of
 * the README's Sisense contract. Tokens are assembled by hand so each can break one rule.
 */
const SECRET = 'fake-sisense-shared-secret-0123456789';
const CLOCK = 1_800_000_000;

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

function jwt(payload: Record<string, unknown>, header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' }, secret = SECRET): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const alg = header.alg === 'HS384' ? 'sha384' : 'sha256';
  return `${input}.${createHmac(alg, secret).update(input).digest('base64url')}`;
}

let n = 0;
function claims(over: Record<string, unknown> = {}): Record<string, unknown> {
  n += 1;
  return { sub: `user${n}@example.com`, iat: CLOCK, exp: CLOCK + 300, jti: randomUUID(), ...over };
}

describe('fake Sisense (enforces the contract in the README)', () => {
  let clock = CLOCK;
  let fake: FakeSisense;
  beforeAll(async () => {
    fake = await startFakeSisense({ secret: SECRET, tenants: { acme: 'tenant-id-acme' }, now: () => clock });
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => {
    clock = CLOCK;
  });

  const login = (token: string, tenant?: string, returnTo = '/app/main/dashboards/1') =>
    fake.present(`${fake.url}${tenant ? `/${tenant}` : ''}/jwt?jwt=${encodeURIComponent(token)}&return_to=${encodeURIComponent(returnTo)}`);

  async function expectDenied(token: string, reason: string, tenant?: string, status = 401) {
    const before = fake.logins.length;
    const res = await login(token, tenant);
    expect(res.status).toBe(status);
    expect(res.body).toEqual({ error: reason });
    expect(fake.logins.length).toBe(before);
  }

  it('accepts a correct token and redirects to return_to', async () => {
    const c = claims({ firstName: 'Ada', groups: ['Analysts'] });
    const res = await login(jwt(c));
    expect(res.status).toBe(302);
    expect(res.location).toBe(`${fake.url}/app/main/dashboards/1`);
    expect(fake.logins.at(-1)).toMatchObject({ tenant: null, email: c.sub, iat: CLOCK, jti: c.jti, returnTo: '/app/main/dashboards/1' });
    expect(fake.lastIat(c.sub as string)).toBe(CLOCK);
  });

  it('accepts an organization tenant login with the right tenantId', async () => {
    const res = await login(jwt(claims({ tenantId: 'tenant-id-acme' })), 'acme', 'https://app.example.com/page');
    expect(res.status).toBe(302);
    expect(res.location).toBe('https://app.example.com/page');
    expect(fake.logins.at(-1)?.tenant).toBe('acme');
  });

  it('refuses a URL without a token', async () => {
    const res = await fake.present(`${fake.url}/jwt?return_to=/`);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'jwt_missing' });
  });

  it('refuses garbage', async () => {
    await expectDenied('not-a-jwt', 'malformed_token');
  });

  it('refuses any algorithm but HS256', async () => {
    await expectDenied(jwt(claims(), { alg: 'HS384', typ: 'JWT' }), 'bad_alg');
    await expectDenied(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`, 'bad_alg');
  });

  it('refuses a header typ other than JWT, or none', async () => {
    await expectDenied(jwt(claims(), { alg: 'HS256' }), 'bad_typ');
    await expectDenied(jwt(claims(), { alg: 'HS256', typ: 'at+jwt' }), 'bad_typ');
  });

  it('refuses a token signed with another secret', async () => {
    await expectDenied(jwt(claims(), undefined, 'another-secret-entirely-0123456789'), 'bad_signature');
  });

  it('refuses a token whose payload is not a JSON object', async () => {
    const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64('[1,2]')}`;
    await expectDenied(`${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`, 'malformed_payload');
  });

  it('refuses a missing iat', async () => {
    const c = claims();
    delete c.iat;
    await expectDenied(jwt(c), 'iat_missing');
  });

  it('refuses a float iat and a string iat', async () => {
    await expectDenied(jwt(claims({ iat: CLOCK + 0.5 })), 'iat_not_integer');
    await expectDenied(jwt(claims({ iat: String(CLOCK) })), 'iat_not_integer');
  });

  it('allows 5 minutes of clock skew each way, and not a second more', async () => {
    expect((await login(jwt(claims({ iat: CLOCK + 300, exp: CLOCK + 600 })))).status).toBe(302);
    expect((await login(jwt(claims({ iat: CLOCK - 300, exp: CLOCK + 60 })))).status).toBe(302);
    await expectDenied(jwt(claims({ iat: CLOCK + 301, exp: CLOCK + 600 })), 'iat_out_of_skew');
    await expectDenied(jwt(claims({ iat: CLOCK - 301, exp: CLOCK + 60 })), 'iat_out_of_skew');
  });

  it('refuses an exp not later than iat', async () => {
    await expectDenied(jwt(claims({ exp: CLOCK })), 'exp_not_after_iat');
    await expectDenied(jwt(claims({ exp: CLOCK - 1 })), 'exp_not_after_iat');
  });

  it('refuses an exp that has passed, and accepts a token without exp', async () => {
    clock = CLOCK + 120;
    await expectDenied(jwt(claims({ exp: CLOCK + 60 })), 'expired');
    const c = claims();
    delete c.exp;
    expect((await login(jwt(c))).status).toBe(302);
  });

  it('refuses a missing or blank jti', async () => {
    const c = claims();
    delete c.jti;
    await expectDenied(jwt(c), 'jti_missing');
    await expectDenied(jwt(claims({ jti: '  ' })), 'jti_missing');
  });

  it('refuses a jti it has seen, even for another user with a later iat', async () => {
    const jti = randomUUID();
    expect((await login(jwt(claims({ jti })))).status).toBe(302);
    await expectDenied(jwt(claims({ jti, iat: CLOCK + 5 })), 'jti_replayed');
  });

  it('refuses replaying the very same URL', async () => {
    const token = jwt(claims());
    expect((await login(token)).status).toBe(302);
    await expectDenied(token, 'jti_replayed');
  });

  it('refuses a missing or blank email claim', async () => {
    const c = claims();
    delete c.sub;
    await expectDenied(jwt(c), 'email_missing');
    await expectDenied(jwt(claims({ sub: ' ' })), 'email_missing');
  });

  it('refuses groups that are not an array of names', async () => {
    await expectDenied(jwt(claims({ groups: 'Analysts' })), 'groups_invalid');
    await expectDenied(jwt(claims({ groups: [1] })), 'groups_invalid');
  });

  it("refuses an iat the same as or earlier than the user's previous one (case-insensitive email)", async () => {
    expect((await login(jwt(claims({ sub: 'Repeat@Example.com', iat: CLOCK + 10 })))).status).toBe(302);
    await expectDenied(jwt(claims({ sub: 'repeat@example.com', iat: CLOCK + 10 })), 'iat_not_increasing');
    await expectDenied(jwt(claims({ sub: 'repeat@example.com', iat: CLOCK + 9 })), 'iat_not_increasing');
    expect((await login(jwt(claims({ sub: 'repeat@example.com', iat: CLOCK + 11 })))).status).toBe(302);
    // Another user is unaffected.
    expect((await login(jwt(claims({ sub: 'other@example.com', iat: CLOCK })))).status).toBe(302);
  });

  it('refuses an organization tenant login without tenantId or with the wrong one', async () => {
    await expectDenied(jwt(claims()), 'tenant_id_missing', 'acme');
    await expectDenied(jwt(claims({ tenantId: 'tenant-id-other' })), 'tenant_id_mismatch', 'acme');
  });

  it('refuses a tenantId on the system tenant', async () => {
    await expectDenied(jwt(claims({ tenantId: 'tenant-id-acme' })), 'tenant_id_unexpected');
  });

  it('refuses an unknown organization tenant', async () => {
    await expectDenied(jwt(claims({ tenantId: 'tenant-id-acme' })), 'unknown_tenant', 'nope', 404);
  });

  it('records every rejection with its reason, and logouts', async () => {
    expect(fake.rejections.some((r) => r.reason === 'bad_signature')).toBe(true);
    const res = await fake.present(`${fake.url}/acme/api/v1/authentication/logout`);
    expect(res.status).toBe(200);
    expect(fake.logouts.at(-1)).toEqual({ tenant: 'acme' });
  });
});

describe('fake Sisense with a configured Email Claim', () => {
  it('reads the email from that claim and refuses a token without it', async () => {
    const fake = await startFakeSisense({ secret: SECRET, emailClaim: 'email', now: () => CLOCK });
    try {
      const url = (t: string) => `${fake.url}/jwt?jwt=${t}&return_to=%2F`;
      const without = await fake.present(url(jwt(claims())));
      expect(without.body).toEqual({ error: 'email_missing' });
      const ok = await fake.present(url(jwt(claims({ email: 'mail@example.com' }))));
      expect(ok.status).toBe(302);
      expect(fake.logins[0].email).toBe('mail@example.com');
    } finally {
      await fake.close();
    }
  });
});

describe('fake Sisense with Remote Login and Remote Logout URLs (browser-facing redirects)', () => {
  const LOGIN_URL = 'https://idp.example.com/sso/sisense-main';
  const LOGOUT_URL = 'https://idp.example.com/sso/sisense-main/logout';
  let fake: FakeSisense;
  beforeAll(async () => {
    fake = await startFakeSisense({
      secret: SECRET,
      tenants: { acme: 'tenant-id-acme' },
      now: () => CLOCK,
      remoteLoginUrl: LOGIN_URL,
      remoteLogoutUrl: LOGOUT_URL,
    });
  });
  afterAll(async () => {
    await fake.close();
  });

  it('sends a page request without a session to the Remote Login URL, then serves it once /jwt accepted a token', async () => {
    const browser = new MiniBrowser();
    const page = `${fake.url}/app/main/dashboards/abc?embed=true&x=1`;
    const first = await browser.get(page);
    expect(first.status).toBe(302);
    expect(first.location).toBe(`${LOGIN_URL}?return_to=${encodeURIComponent('/app/main/dashboards/abc?embed=true&x=1')}`);
    expect(new URL(first.location!).searchParams.get('return_to')).toBe('/app/main/dashboards/abc?embed=true&x=1');

    // A refused token opens no session.
    const refused = await browser.get(`${fake.url}/jwt?jwt=${jwt(claims(), undefined, 'wrong-secret-0123456789abcdefghij')}&return_to=%2F`);
    expect(refused.status).toBe(401);
    expect(browser.jar(fake.url).get(SISENSE_SESSION_COOKIE)).toBeUndefined();
    expect((await browser.get(page)).status).toBe(302);

    const c = claims();
    const hops = await browser.follow(`${fake.url}/jwt?jwt=${jwt(c)}&return_to=${encodeURIComponent('/app/main/dashboards/abc?embed=true&x=1')}`);
    expect(hops.map((h) => [h.status, h.location])).toEqual([
      [302, page],
      [200, null],
    ]);
    expect(browser.jar(fake.url).get(SISENSE_SESSION_COOKIE)).toMatch(/^[0-9a-f]{32}$/);
    expect(JSON.parse(hops[1].text)).toEqual({ page: '/app/main/dashboards/abc?embed=true&x=1', user: c.sub });
    // Another browser (no cookie) is still sent to log in.
    expect((await new MiniBrowser().get(page)).status).toBe(302);
  });

  it("keeps an organization tenant's session to that tenant's pages", async () => {
    const browser = new MiniBrowser();
    const first = await browser.get(`${fake.url}/acme/app/main`);
    expect(first.location).toBe(`${LOGIN_URL}?return_to=${encodeURIComponent('/acme/app/main')}`);
    const c = claims({ tenantId: 'tenant-id-acme' });
    const hops = await browser.follow(`${fake.url}/acme/jwt?jwt=${jwt(c)}&return_to=%2Facme%2Fapp%2Fmain`);
    expect(hops.map((h) => h.status)).toEqual([302, 200]);
    expect(JSON.parse(hops[1].text)).toEqual({ page: '/acme/app/main', user: c.sub });
    // The system tenant's pages are another Sisense tenant: no session there.
    expect((await browser.get(`${fake.url}/app/main`)).status).toBe(302);
    // An unknown tenant prefix is not a Sisense page.
    expect((await browser.get(`${fake.url}/nope/app/main`)).status).toBe(404);
  });

  it('logs out: clears its session cookie and sends the browser to the Remote Logout URL', async () => {
    const browser = new MiniBrowser();
    const page = `${fake.url}/app/main/dashboards/1`;
    await browser.follow(`${fake.url}/jwt?jwt=${jwt(claims())}&return_to=%2Fapp%2Fmain%2Fdashboards%2F1`);
    expect((await browser.get(page)).status).toBe(200);
    const sid = browser.jar(fake.url).get(SISENSE_SESSION_COOKIE)!;
    expect(fake.sessions.has(sid)).toBe(true);

    const out = await browser.get(`${fake.url}/api/v1/authentication/logout`);
    expect(out.status).toBe(302);
    expect(out.location).toBe(LOGOUT_URL);
    expect(browser.jar(fake.url).get(SISENSE_SESSION_COOKIE)).toBeUndefined();
    expect(fake.sessions.has(sid)).toBe(false);
    expect(fake.logouts.at(-1)).toEqual({ tenant: null });
    // The session is over on the server too: replaying the old cookie gets the login redirect.
    browser.jar(fake.url).set(SISENSE_SESSION_COOKIE, sid);
    const again = await browser.get(page);
    expect(again.status).toBe(302);
    expect(again.location).toBe(`${LOGIN_URL}?return_to=${encodeURIComponent('/app/main/dashboards/1')}`);
  });

  it('appends return_to with & to a Remote Login URL that has a query already, and 401s without one', async () => {
    const withQuery = await startFakeSisense({ secret: SECRET, remoteLoginUrl: `${LOGIN_URL}?tenant=acme` });
    const none = await startFakeSisense({ secret: SECRET });
    try {
      const a = await new MiniBrowser().get(`${withQuery.url}/app/main`);
      expect(a.location).toBe(`${LOGIN_URL}?tenant=acme&return_to=%2Fapp%2Fmain`);
      const b = await new MiniBrowser().get(`${none.url}/app/main`);
      expect(b.status).toBe(401);
      expect(b.location).toBeNull();
      // Without a Remote Logout URL, logout answers 200 (as before).
      expect((await new MiniBrowser().get(`${none.url}/api/v1/authentication/logout`)).status).toBe(200);
    } finally {
      await withQuery.close();
      await none.close();
    }
  });
});

describe('fake Sisense isauth (what the Compose SDK asks first)', () => {
  const LOGIN_URL = 'https://idp.example.com/sso/sisense-main';
  const APP = 'https://app.example.com';
  let fake: FakeSisense;
  beforeAll(async () => {
    fake = await startFakeSisense({ secret: SECRET, tenants: { acme: 'tenant-id-acme' }, now: () => CLOCK, remoteLoginUrl: LOGIN_URL, corsAllowedOrigins: [APP] });
  });
  afterAll(async () => {
    await fake.close();
  });
  const isauth = (path: string, headers: Record<string, string> = {}) => fetch(`${fake.url}${path}`, { headers: { Internal: 'true', Origin: APP, ...headers } });

  it('without a session: JSON {isAuthenticated: false, ssoEnabled: true, loginUrl}, CORS with credentials for an allowed origin', async () => {
    const res = await isauth('/api/auth/isauth');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP);
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
    expect(await res.json()).toEqual({ isAuthenticated: false, ssoEnabled: true, loginUrl: LOGIN_URL });
    expect(fake.isauthCalls.at(-1)).toMatchObject({ method: 'GET', tenant: null, origin: APP, internal: 'true', hadSession: false });
  });

  it('answers the preflight for an allowed origin with the headers it asked for; another origin gets no CORS headers', async () => {
    const pre = await fetch(`${fake.url}/api/auth/isauth`, { method: 'OPTIONS', headers: { Origin: APP, 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'internal' } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-headers')).toBe('internal');
    expect(pre.headers.get('access-control-allow-credentials')).toBe('true');
    expect(fake.isauthCalls.at(-1)).toMatchObject({ method: 'OPTIONS', requestHeaders: 'internal' });
    const other = await isauth('/api/auth/isauth', { Origin: 'https://evil.example' });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('with a session for that tenant: {isAuthenticated: true}; another tenant or an unknown one is not authenticated', async () => {
    const browser = new MiniBrowser();
    await browser.follow(`${fake.url}/acme/jwt?jwt=${jwt(claims({ tenantId: 'tenant-id-acme' }))}&return_to=%2Facme%2Fapp%2Fmain`);
    const cookie = `${SISENSE_SESSION_COOKIE}=${browser.jar(fake.url).get(SISENSE_SESSION_COOKIE)}`;
    expect(await (await isauth('/acme/api/auth/isauth', { Cookie: cookie })).json()).toEqual({ isAuthenticated: true });
    expect(((await (await isauth('/api/auth/isauth', { Cookie: cookie })).json()) as { isAuthenticated: boolean }).isAuthenticated).toBe(false);
    expect((await isauth('/nope/api/auth/isauth', { Cookie: cookie })).status).toBe(404);
  });

  it('sessionCookieLost: a login is accepted but no cookie is set, so isauth stays unauthenticated', async () => {
    const lost = await startFakeSisense({ secret: SECRET, now: () => CLOCK, remoteLoginUrl: LOGIN_URL, sessionCookieLost: true });
    try {
      const browser = new MiniBrowser();
      const hop = await browser.get(`${lost.url}/jwt?jwt=${jwt(claims())}&return_to=%2Fapp%2Fmain`);
      expect(hop.status).toBe(302);
      expect(lost.logins).toHaveLength(1);
      expect(browser.jar(lost.url).get(SISENSE_SESSION_COOKIE)).toBeUndefined();
      expect((await browser.get(`${lost.url}/app/main`)).location).toBe(`${LOGIN_URL}?return_to=%2Fapp%2Fmain`);
    } finally {
      await lost.close();
    }
  });

  it('without a Remote Login URL: ssoEnabled false and no loginUrl', async () => {
    const none = await startFakeSisense({ secret: SECRET });
    try {
      expect(await (await fetch(`${none.url}/api/auth/isauth`)).json()).toEqual({ isAuthenticated: false, ssoEnabled: false });
    } finally {
      await none.close();
    }
  });
});
