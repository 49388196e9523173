import jwt from 'jsonwebtoken';
import { generateKeyPairSync } from 'node:crypto';
import { FakeQlik, startFakeQlik } from './qlik';

/** The fake Qlik refuses a token that breaks any one of its rules (and accepts a good one). */
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ISSUER = 'https://idp.example.com';
const pemOf = (k: typeof rsa) => k.publicKey.export({ format: 'pem', type: 'spki' }) as string;

describe('fake Qlik Cloud (JWT identity provider)', () => {
  let fake: FakeQlik;
  let n = 0;
  beforeAll(async () => {
    fake = await startFakeQlik({ issuer: ISSUER, staticKeys: [{ kid: 'k1', pem: pemOf(rsa) }] });
  });
  afterAll(() => fake.close());

  const now = () => Math.floor(Date.now() / 1000);
  const claims = (over: Record<string, unknown> = {}) => {
    const c: Record<string, unknown> = { iss: ISSUER, aud: 'qlik.api/login/jwt-session', sub: 'ada@acme.test', subType: 'user', name: 'Ada', email: 'ada@acme.test', email_verified: true, groups: ['Analysts'], jti: `j${++n}`, iat: now(), nbf: now(), exp: now() + 120, ...over };
    for (const k of Object.keys(c)) if (c[k] === undefined) delete c[k];
    return c;
  };
  const sign = (c = claims(), kid = 'k1', key = rsa.privateKey) => jwt.sign(c, key, { algorithm: 'RS256', header: { alg: 'RS256', kid } });

  it('accepts a good token, and a POST /login/jwt-session with it opens a session', async () => {
    expect(fake.verify(sign())).toMatchObject({ ok: true });
    const res = await fetch(`${fake.url}/login/jwt-session`, { method: 'POST', headers: { Authorization: `Bearer ${sign()}` } });
    expect(res.status).toBe(200);
  });

  it.each<[string, () => string, string]>([
    ['HS256 with the PEM as secret', () => jwt.sign(claims(), pemOf(rsa), { algorithm: 'HS256', header: { alg: 'HS256', kid: 'k1' } as jwt.JwtHeader }), 'alg_not_allowed'],
    ['a kid Qlik does not hold', () => sign(claims(), 'k2'), 'unknown_kid'],
    ['signed by another key', () => sign(claims(), 'k1', other.privateKey), 'bad_signature'],
    ['another issuer', () => sign(claims({ iss: 'https://evil.example' })), 'bad_issuer'],
    ['another audience', () => sign(claims({ aud: 'qlik.api' })), 'bad_audience'],
    ['no sub', () => sign(claims({ sub: undefined })), 'no_sub'],
    ['subType other than user', () => sign(claims({ subType: 'client' })), 'bad_sub_type'],
    ['no name', () => sign(claims({ name: undefined })), 'no_name'],
    ['no email', () => sign(claims({ email: undefined })), 'no_email'],
    ['email_verified false', () => sign(claims({ email_verified: false })), 'email_not_verified'],
    ['groups not an array', () => sign(claims({ groups: 'Analysts' })), 'bad_groups'],
    ['no nbf', () => sign(claims({ nbf: undefined })), 'bad_times'],
    ['expired', () => sign(claims({ iat: now() - 300, nbf: now() - 300, exp: now() - 10 })), 'expired'],
    ['not yet valid', () => sign(claims({ nbf: now() + 300 })), 'not_yet_valid'],
    ['exp over 60 minutes after iat', () => sign(claims({ exp: now() + 3700 })), 'too_long_lived'],
    ['no jti', () => sign(claims({ jti: undefined })), 'no_jti'],
  ])('refuses %s', (_name, token, reason) => {
    expect(fake.verify(token())).toEqual({ ok: false, reason });
  });

  describe('from a host page (web integration, CORS, session cookie)', () => {
    let web: FakeQlik;
    const HOST = 'https://app.example.com';
    const WIID = 'wi-0123456789abcdef';
    beforeAll(async () => {
      web = await startFakeQlik({ issuer: ISSUER, staticKeys: [{ kid: 'k1', pem: pemOf(rsa) }], webIntegrationId: WIID, allowedOrigins: [HOST] });
    });
    afterAll(() => web.close());
    const login = (headers: Record<string, string>) => fetch(`${web.url}/login/jwt-session`, { method: 'POST', headers: { Authorization: `Bearer ${sign()}`, ...headers } });

    it('opens a session for an allowed origin with the integration id: credentialed CORS, a cookie, and /api/v1/users/me answers the user', async () => {
      const res = await login({ Origin: HOST, 'qlik-web-integration-id': WIID });
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBe(HOST);
      expect(res.headers.get('access-control-allow-credentials')).toBe('true');
      const cookie = res.headers.get('set-cookie') ?? '';
      expect(cookie).toMatch(/SameSite=None; Secure/);
      const me = await fetch(`${web.url}/api/v1/users/me`, { headers: { Cookie: cookie.split(';')[0], Origin: HOST, 'qlik-web-integration-id': WIID } });
      expect(me.status).toBe(200);
      expect(await me.json()).toMatchObject({ subject: 'ada@acme.test', email: 'ada@acme.test', name: 'Ada' });
    });

    it('answers the preflight of an allowed origin only', async () => {
      const ok = await fetch(`${web.url}/login/jwt-session`, { method: 'OPTIONS', headers: { Origin: HOST, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,qlik-web-integration-id' } });
      expect(ok.status).toBe(204);
      expect(ok.headers.get('access-control-allow-origin')).toBe(HOST);
      expect(ok.headers.get('access-control-allow-headers')).toMatch(/qlik-web-integration-id/);
      const no = await fetch(`${web.url}/login/jwt-session`, { method: 'OPTIONS', headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST' } });
      expect(no.status).toBe(403);
      expect(no.headers.get('access-control-allow-origin')).toBeNull();
    });

    it.each<[string, Record<string, string>, number, string]>([
      ['without the web integration id', { Origin: HOST }, 400, 'web_integration_id_required'],
      ['with another web integration id', { Origin: HOST, 'qlik-web-integration-id': 'wi-other' }, 403, 'web_integration_id_unknown'],
      ['from an origin not allowed', { Origin: 'https://evil.example', 'qlik-web-integration-id': WIID }, 403, 'origin_not_allowed'],
    ])('refuses a sign-in %s, opens no session', async (_name, headers, status, reason) => {
      const before = web.sessions.length;
      const res = await login(headers);
      expect(res.status).toBe(status);
      expect(await res.json()).toEqual({ reason });
      expect(res.headers.get('set-cookie')).toBeNull();
      expect(web.sessions).toHaveLength(before);
    });

    it('/api/v1/users/me without a session (or with an unknown one) is 401', async () => {
      expect((await fetch(`${web.url}/api/v1/users/me`)).status).toBe(401);
      expect((await fetch(`${web.url}/api/v1/users/me`, { headers: { Cookie: '_session=nope' } })).status).toBe(401);
    });
  });

  it('holds one key, as Qlik does: a second is refused at set-up, and pasting a new one replaces the old', async () => {
    await expect(startFakeQlik({ issuer: ISSUER, staticKeys: [{ kid: 'k1', pem: pemOf(rsa) }, { kid: 'k2', pem: pemOf(other) }] })).rejects.toThrow(/one static key/);
    const swap = await startFakeQlik({ issuer: ISSUER, staticKeys: [{ kid: 'k1', pem: pemOf(rsa) }] });
    try {
      swap.setKey({ kid: 'k2', pem: pemOf(other) });
      expect(swap.verify(sign(claims(), 'k2', other.privateKey))).toMatchObject({ ok: true });
      expect(swap.verify(sign(claims(), 'k1'))).toEqual({ ok: false, reason: 'unknown_kid' });
    } finally {
      await swap.close();
    }
  });

  it('refuses a replayed jti', () => {
    const token = sign(claims({ jti: 'once' }));
    expect(fake.verify(token).ok).toBe(true);
    expect(fake.verify(token)).toEqual({ ok: false, reason: 'replay' });
  });
});
