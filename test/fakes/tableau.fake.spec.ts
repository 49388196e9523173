import { createHmac, randomUUID } from 'node:crypto';
import { FakeTableau, startFakeTableau } from './tableau';

/**
 * The fake is only worth something if it refuses what Tableau refuses: one broken token per
 * rule of the README's Tableau section, each assembled by hand and each refused, and the
 * right one accepted once.
 */
const CLIENT = '0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d';
const SECRET_ID = '9f8e7d6c-5b4a-3928-1706-f5e4d3c2b1a0';
const SECRET = 'tableau-connected-app-secret-value-0123456789';
const USER = 'Ada@acme.example';
const CLOCK = 1_800_000_000;

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
function sign(payload: Record<string, unknown>, header: Record<string, unknown> = {}, secret = SECRET): string {
  const h = { alg: 'HS256', typ: 'JWT', kid: SECRET_ID, iss: CLIENT, ...header };
  const input = `${b64(h)}.${b64(payload)}`;
  const alg = h.alg === 'HS384' ? 'sha384' : 'sha256';
  return `${input}.${createHmac(alg, secret).update(input).digest('base64url')}`;
}
const claims = (over: Record<string, unknown> = {}) => ({ jti: randomUUID(), aud: 'tableau', sub: USER, scp: ['tableau:views:embed'], iat: CLOCK, exp: CLOCK + 300, ...over });
const without = (key: string) => {
  const c: Record<string, unknown> = claims();
  delete c[key];
  return c;
};

describe('fake Tableau (enforces the contract in the README)', () => {
  let fake: FakeTableau;
  beforeAll(async () => {
    fake = await startFakeTableau({ clientId: CLIENT, secretId: SECRET_ID, secret: SECRET, users: [USER], allowedOrigins: ['https://app.example.com'], now: () => CLOCK });
  });
  afterAll(async () => {
    await fake.close();
  });

  it('accepts a token made by the rules, once', () => {
    const token = sign(claims({ region: 'emea' }));
    const first = fake.verify(token);
    expect(first).toMatchObject({ ok: true, signIn: { sub: USER, scp: ['tableau:views:embed'], claims: { region: 'emea' } } });
    expect(fake.verify(token)).toMatchObject({ ok: false, code: 16, reason: expect.stringContaining('jti already used') });
  });

  const unsigned = `${b64({ alg: 'none', typ: 'JWT', kid: SECRET_ID, iss: CLIENT })}.${b64(claims())}.`;
  it.each<[string, string]>([
    ['signed with another secret', sign(claims(), {}, 'another-secret-value-of-the-same-length-000')],
    ['alg none', unsigned],
    ['alg HS384', sign(claims(), { alg: 'HS384' })],
    ['kid not the secret id', sign(claims(), { kid: 'other-secret-id' })],
    ['kid missing', sign(claims(), { kid: undefined })],
    ['iss header not the client id', sign(claims(), { iss: 'other-client' })],
    ['iss header missing', sign(claims(), { iss: undefined })],
    ['iss claim not the client id', sign({ ...claims(), iss: 'other-client' })],
    ['aud not tableau', sign(claims({ aud: 'tableau-online' }))],
    ['aud missing', sign(without('aud'))],
    ['sub missing', sign(without('sub'))],
    ['sub of another case (usernames are case-sensitive)', sign(claims({ sub: USER.toLowerCase() }))],
    ['sub not a user of the site', sign(claims({ sub: 'nobody@acme.example' }))],
    ['scp a string, not an array', sign(claims({ scp: 'tableau:views:embed' }))],
    ['scp empty', sign(claims({ scp: [] }))],
    ['scp missing', sign(without('scp'))],
    ['scp an unknown scope', sign(claims({ scp: ['tableau:views:embed', 'tableau:content:read'] }))],
    ['scp without a view-embedding scope', sign(claims({ scp: ['tableau:insights:embed'] }))],
    ['jti missing', sign(without('jti'))],
    ['jti not a UUID', sign(claims({ jti: 'abc' }))],
    ['exp missing', sign(without('exp'))],
    ['exp passed', sign(claims({ exp: CLOCK - 1 }))],
    ['exp more than 10 minutes ahead', sign(claims({ exp: CLOCK + 601 }))],
    ['iat in the future', sign(claims({ iat: CLOCK + 60, exp: CLOCK + 300 }))],
    ['a lifetime over 10 minutes (iat to exp)', sign(claims({ iat: CLOCK - 100, exp: CLOCK + 550 }))],
    ['not a JWT', 'not-a-jwt'],
  ])('refuses a token with %s', (_why, token) => {
    expect(fake.verify(token)).toMatchObject({ ok: false });
  });

  it('signs in through the endpoint the SDK posts to, from an allowed origin only', async () => {
    const post = (token: string, origin = 'https://app.example.com') =>
      fetch(`${fake.url}/vizportal/api/web/v1/auth/embed/signin`, { method: 'POST', headers: { 'content-type': 'application/json', origin }, body: JSON.stringify({ siteName: 'acme', jwt: token }) });
    const ok = await post(sign(claims()));
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(ok.headers.get('set-cookie')).toMatch(/^workgroup_session_id=/);
    expect((await post(sign(claims()), 'https://evil.example')).status).toBe(403);
    expect((await post(sign(claims({ exp: CLOCK + 601 })))).status).toBe(401);
  });
});
