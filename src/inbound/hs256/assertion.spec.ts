import jwt from 'jsonwebtoken';
import { createHmac, createSecretKey } from 'node:crypto';
import { emailOf, issuerOf, MAX_ASSERTION_LENGTH, OVERSIZED, verifyAssertion } from './assertion';

const SECRET = 'unit-handoff-secret-0123456789abcdef';
const OTHER = 'unit-handoff-secret-rotated-0123456789';
const key = (s: string) => createSecretKey(Buffer.from(s, 'utf8'));
const NOW = 1_800_000_000;
const sign = (claims: Record<string, unknown>, secret = SECRET, opts: jwt.SignOptions = {}) => {
  const payload: Record<string, unknown> = { iss: 'acme', iat: NOW, exp: NOW + 120, jti: 'j-1', email: 'a@b.example', ...claims };
  for (const k of Object.keys(payload)) if (payload[k] === undefined) delete payload[k];
  return jwt.sign(payload, secret, { algorithm: 'HS256', ...opts });
};

describe('hand-off assertion rules', () => {
  it.each([
    ['accepted', {}, 'ok'],
    ['exp exactly 300 s after iat', { exp: NOW + 300 }, 'ok'],
    ['exp 301 s after iat', { exp: NOW + 301 }, 'assertion_too_long_lived'],
    ['iat 60 s ahead', { iat: NOW + 60, exp: NOW + 100 }, 'ok'],
    ['iat 61 s ahead', { iat: NOW + 61, exp: NOW + 100 }, 'iat_in_future'],
    ['exp now', { iat: NOW - 100, exp: NOW }, 'assertion_expired'],
    ['a float iat', { iat: NOW + 0.5 }, 'invalid_times'],
    ['no exp', { exp: undefined }, 'invalid_times'],
    ['an empty jti', { jti: '' }, 'missing_jti'],
    ['a numeric jti', { jti: 7 }, 'missing_jti'],
    ['a jti over 200 characters', { jti: 'j'.repeat(201) }, 'missing_jti'],
    // nbf (RFC 7519 §4.1.5), with the same 60 s of skew as iat.
    ['nbf now', { nbf: NOW }, 'ok'],
    ['nbf 60 s ahead', { nbf: NOW + 60 }, 'ok'],
    ['nbf 61 s ahead', { nbf: NOW + 61, exp: NOW + 200 }, 'assertion_not_yet_valid'],
    ['a float nbf', { nbf: NOW + 0.5 }, 'invalid_times'],
  ])('%s', async (_name, claims, expected) => {
    const r = await verifyAssertion(sign(claims), [key(SECRET)], NOW);
    expect(r.ok ? 'ok' : r.reason).toBe(expected);
  });

  it('accepts either key of a rotation, and nothing else', async () => {
    expect((await verifyAssertion(sign({}, OTHER), [key(SECRET), key(OTHER)], NOW)).ok).toBe(true);
    expect(await verifyAssertion(sign({}, OTHER), [key(SECRET)], NOW)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('a string nbf (which jsonwebtoken will not sign): invalid_times', async () => {
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ iss: 'acme', iat: NOW, exp: NOW + 120, jti: 'j', nbf: String(NOW) })}`;
    const token = `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
    expect(await verifyAssertion(token, [key(SECRET)], NOW)).toEqual({ ok: false, reason: 'invalid_times' });
  });

  // RFC 7515 §4.1.11: a JWS naming a critical header parameter the recipient does not
  // implement is invalid. We implement none, so any crit is refused — after the signature,
  // so whoever lacks the key still gets bad_signature.
  it.each([[['exp']], [['b64']], [[]], ['exp']])('a crit header %j: unsupported_crit, bad_signature without the key', async (crit) => {
    const withCrit = (secret: string) => sign({}, secret, { header: { alg: 'HS256', crit } as unknown as jwt.JwtHeader });
    expect(await verifyAssertion(withCrit(SECRET), [key(SECRET)], NOW)).toMatchObject({ ok: false, reason: 'unsupported_crit' });
    expect(await verifyAssertion(withCrit(OTHER), [key(SECRET)], NOW)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('only HS256: HS512 with the right key and alg none are bad signatures', async () => {
    expect(await verifyAssertion(sign({}, SECRET, { algorithm: 'HS512' }), [key(SECRET)], NOW)).toEqual({ ok: false, reason: 'bad_signature' });
    const none = jwt.sign({ iss: 'acme', iat: NOW, exp: NOW + 60, jti: 'x' }, '', { algorithm: 'none' });
    expect(await verifyAssertion(none, [key(SECRET)], NOW)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('reads the issuer before verifying, refusing what is not worth parsing', () => {
    expect(issuerOf(sign({}))).toEqual({ ok: true, value: 'acme' });
    expect(issuerOf(undefined)).toEqual({ ok: false, reason: 'assertion_missing' });
    expect(issuerOf(['a', 'b'])).toEqual({ ok: false, reason: 'assertion_missing' });
    expect(issuerOf('x'.repeat(MAX_ASSERTION_LENGTH + 1))).toMatchObject({ ok: false, reason: 'assertion_too_large' });
    expect(issuerOf(OVERSIZED)).toEqual({ ok: false, reason: 'assertion_too_large' });
    expect(issuerOf('a.b.c')).toEqual({ ok: false, reason: 'assertion_malformed' });
    expect(issuerOf(sign({ iss: 42 }))).toEqual({ ok: false, reason: 'unknown_tenant' });
  });

  it('takes the email from email, else sub, lower-cased', () => {
    const claims = (c: Record<string, unknown>) => ({ iss: 'a', iat: 0, exp: 1, jti: 'j', ...c });
    expect(emailOf(claims({ email: ' Ada@X.example ', sub: 'other@x.example' }))).toBe('ada@x.example');
    expect(emailOf(claims({ sub: 'Sub@X.example' }))).toBe('sub@x.example');
    expect(emailOf(claims({ email: 5 }))).toBeNull();
  });
});
