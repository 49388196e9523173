import { createHmac } from 'node:crypto';
import { FakeSuperset, startFakeSuperset } from './superset';

/**
 * The fake is only worth something if it refuses what Superset refuses: one broken guest
 * token per rule of parse_jwt_guest_token / get_guest_user_from_request, each assembled by
 * hand and each refused; and the API calls (login, CSRF, bearer, body) checked as Superset's
 * security API checks them.
 */
const SECRET = 'superset-guest-token-secret-0123456789abcdef';
const AUD = 'superset-test-audience';
const DASH = '9c1f6a52-3b7e-4d8a-a1c2-5e6f7a8b9c0d';
const OTHER = '11111111-2222-4333-8444-555555555555';
const HOST = 'https://host-app.example.com';
const CLOCK = 1_800_000_000;
const USER = 'embed-idp';
const PASSWORD = 'service-account-password-0123';

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
function sign(payload: Record<string, unknown>, header: Record<string, unknown> = {}, secret = SECRET): string {
  const h = { alg: 'HS256', typ: 'JWT', ...header };
  const input = `${b64(h)}.${b64(payload)}`;
  const alg = h.alg === 'HS512' ? 'sha512' : 'sha256';
  return `${input}.${createHmac(alg, secret).update(input).digest('base64url')}`;
}
const claims = (over: Record<string, unknown> = {}) => ({
  user: { username: 'ada@acme.example', first_name: 'Ada', last_name: 'Lovelace' },
  resources: [{ type: 'dashboard', id: DASH }],
  rls_rules: [{ clause: "customer_id = 'acme'" }],
  iat: CLOCK,
  exp: CLOCK + 300,
  aud: AUD,
  type: 'guest',
  ...over,
});
const without = (key: string) => {
  const c: Record<string, unknown> = claims();
  delete c[key];
  return c;
};

describe('fake Superset (refuses what Superset refuses)', () => {
  let fake: FakeSuperset;
  beforeAll(async () => {
    fake = await startFakeSuperset({
      guestTokenSecret: SECRET,
      audience: AUD,
      dashboards: { [DASH]: [HOST], [OTHER]: [] },
      username: USER,
      password: PASSWORD,
      csrf: true,
      now: () => CLOCK,
    });
  });
  afterAll(async () => {
    await fake.close();
  });

  const view = (token: string, dash = DASH) => fetch(`${fake.url}/api/v1/dashboard/${dash}`, { headers: { 'X-GuestToken': token } });

  describe('guest tokens (X-GuestToken)', () => {
    it('opens the dashboard for a token made by the rules', async () => {
      const res = await view(sign(claims()));
      expect(res.status).toBe(200);
      expect(((await res.json()) as { guest: unknown }).guest).toEqual({ user: claims().user, rls_rules: claims().rls_rules });
    });

    const tampered = (() => {
      const [h, , s] = sign(claims()).split('.');
      return `${h}.${b64(claims({ rls_rules: [] }))}.${s}`;
    })();
    it.each<[string, string]>([
      ['signed with another secret', sign(claims(), {}, 'another-secret-0123456789abcdef0123456789')],
      ['expired', sign(claims({ iat: CLOCK - 600, exp: CLOCK - 1 }))],
      ['issued in the future', sign(claims({ iat: CLOCK + 60, exp: CLOCK + 360 }))],
      ['another audience', sign(claims({ aud: 'another-superset' }))],
      ['no audience', sign(without('aud'))],
      ['a tampered payload (RLS removed)', tampered],
      ['alg none', `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`],
      ['another algorithm than GUEST_TOKEN_JWT_ALGO', sign(claims(), { alg: 'HS512' })],
      ['no user', sign(without('user'))],
      ['no resources', sign(without('resources'))],
      ['no rls_rules', sign(without('rls_rules'))],
      ['no type', sign(without('type'))],
      ['type access', sign(claims({ type: 'access' }))],
      ['another dashboard only', sign(claims({ resources: [{ type: 'dashboard', id: OTHER }] }))],
    ])('refuses a token %s', async (_why, token) => {
      const before = fake.rejections.length;
      expect((await view(token)).status).toBe(401);
      expect(fake.rejections.length).toBe(before + 1);
    });

    it('refuses a request without a token', async () => {
      expect((await fetch(`${fake.url}/api/v1/dashboard/${DASH}`)).status).toBe(401);
    });
  });

  describe('the embedded page', () => {
    it('404 for a dashboard not embedded; 403 for a referrer not allowed; 200 for an allowed one', async () => {
      expect((await fetch(`${fake.url}/embedded/00000000-0000-4000-8000-000000000000`, { headers: { Referer: `${HOST}/x` } })).status).toBe(404);
      expect((await fetch(`${fake.url}/embedded/${DASH}`, { headers: { Referer: 'https://evil.example/' } })).status).toBe(403);
      expect((await fetch(`${fake.url}/embedded/${DASH}`)).status).toBe(403);
      const ok = await fetch(`${fake.url}/embedded/${DASH}`, { headers: { Referer: `${HOST}/demo` } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('__embedded_comms__');
      // No allowed domains: any referrer.
      expect((await fetch(`${fake.url}/embedded/${OTHER}`)).status).toBe(200);
    });
  });

  describe('the security API', () => {
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${fake.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
    const login = async () => ((await (await post('/api/v1/security/login', { username: USER, password: PASSWORD, provider: 'db', refresh: false })).json()) as { access_token: string }).access_token;
    const csrf = async (bearer: string) => {
      const res = await fetch(`${fake.url}/api/v1/security/csrf_token/`, { headers: { Authorization: `Bearer ${bearer}` } });
      return { token: ((await res.json()) as { result: string }).result, cookie: res.headers.getSetCookie()[0].split(';')[0] };
    };
    const body = { user: { username: 'ada@acme.example', first_name: 'Ada', last_name: 'L' }, resources: [{ type: 'dashboard', id: DASH }], rls: [{ dataset: 3, clause: "a = 'b'" }] };

    it('logs in, gives a CSRF token, and mints a guest token Superset itself accepts', async () => {
      const bearer = await login();
      const c = await csrf(bearer);
      const res = await post('/api/v1/security/guest_token/', body, { Authorization: `Bearer ${bearer}`, 'X-CSRFToken': c.token, Cookie: c.cookie });
      expect(res.status).toBe(200);
      const { token } = (await res.json()) as { token: string };
      expect(fake.verifyGuestToken(token, DASH)).toMatchObject({ ok: true, claims: { rls_rules: body.rls, type: 'guest', aud: AUD } });
    });

    it.each([
      ['a wrong password', { username: USER, password: 'wrong-password-0123456789', provider: 'db' }, 401],
      ['an unknown user', { username: 'nobody', password: PASSWORD, provider: 'db' }, 401],
      ['an unknown provider', { username: USER, password: PASSWORD, provider: 'oauth' }, 400],
      ['no password', { username: USER, provider: 'db' }, 400],
    ])('refuses a login with %s', async (_why, creds, status) => {
      expect((await post('/api/v1/security/login', creds)).status).toBe(status);
    });

    it('refuses guest_token without a bearer, with a revoked one, and csrf_token without one', async () => {
      expect((await post('/api/v1/security/guest_token/', body)).status).toBe(401);
      expect((await post('/api/v1/security/guest_token/', body, { Authorization: 'Bearer not-a-token' })).status).toBe(401);
      expect((await fetch(`${fake.url}/api/v1/security/csrf_token/`)).status).toBe(401);
      const bearer = await login();
      const c = await csrf(bearer);
      fake.revokeAccessTokens();
      expect((await post('/api/v1/security/guest_token/', body, { Authorization: `Bearer ${bearer}`, 'X-CSRFToken': c.token, Cookie: c.cookie })).status).toBe(401);
    });

    it('asks for the CSRF token: missing, without its session cookie, or another session\'s — 400 naming CSRF', async () => {
      const bearer = await login();
      const a = await csrf(bearer);
      const b = await csrf(bearer);
      for (const headers of [{}, { 'X-CSRFToken': a.token }, { 'X-CSRFToken': a.token, Cookie: b.cookie }] as Record<string, string>[]) {
        const res = await post('/api/v1/security/guest_token/', body, { Authorization: `Bearer ${bearer}`, ...headers });
        expect(res.status).toBe(400);
        expect(await res.text()).toMatch(/CSRF/);
      }
    });

    it.each<[string, unknown]>([
      ['an unknown field', { ...body, extra: 1 }],
      ['no user', { resources: body.resources }],
      ['a user field not a string', { ...body, user: { username: 1 } }],
      ['no resources', { user: body.user, resources: [] }],
      ['a resource of another type', { ...body, resources: [{ type: 'chart', id: DASH }] }],
      ['a dashboard not embedded', { ...body, resources: [{ type: 'dashboard', id: '00000000-0000-4000-8000-000000000000' }] }],
      ['an RLS rule without clause', { ...body, rls: [{ dataset: 1 }] }],
      ['an RLS dataset not an integer', { ...body, rls: [{ dataset: '1', clause: 'x' }] }],
      ['an RLS rule with another field', { ...body, rls: [{ clause: 'x', datasource: 1 }] }],
    ])('refuses a guest_token body with %s (400)', async (_why, b) => {
      const bearer = await login();
      const c = await csrf(bearer);
      expect((await post('/api/v1/security/guest_token/', b, { Authorization: `Bearer ${bearer}`, 'X-CSRFToken': c.token, Cookie: c.cookie })).status).toBe(400);
    });
  });
});
