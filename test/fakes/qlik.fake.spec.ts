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

  it('refuses a replayed jti', () => {
    const token = sign(claims({ jti: 'once' }));
    expect(fake.verify(token).ok).toBe(true);
    expect(fake.verify(token)).toEqual({ ok: false, reason: 'replay' });
  });
});
