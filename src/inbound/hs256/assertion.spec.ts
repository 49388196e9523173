import jwt from 'jsonwebtoken';
import { createHmac, createSecretKey } from 'node:crypto';
import fc from 'fast-check';
import { emailOf, issuerOf, MAX_ASSERTION_LENGTH, OVERSIZED, verifyAssertion, verifyAssertionWithJose } from './assertion';

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

/**
 * The plain-HS256 fast lane (node:crypto HMAC) must answer exactly what jose's compactVerify
 * answers for every token: the same claims, the same refusal (malformed vs bad signature).
 */
describe('the synchronous HS256 lane answers as jose does', () => {
  const b64 = (v: string | Buffer) => Buffer.from(v).toString('base64url');
  const mac = (input: string, secret: string) => createHmac('sha256', secret).update(input).digest('base64url');
  const headers = fc.constantFrom(
    '{"alg":"HS256","typ":"JWT"}',
    '{"alg":"HS256"}',
    '{"typ":"JWT","alg":"HS256","kid":"k1"}',
    '{"alg":"HS256","kid":7}',
    '{"alg":"HS256","b64":false}',
    '{"alg":"HS256","b64":true}',
    '{"alg":"HS256","jwk":{}}',
    '{"alg":"HS384"}',
    '{"alg":"none"}',
    '{"alg":""}',
    '{"typ":"JWT"}',
    '{"alg":"HS256","alg2":"x"}',
  );
  const claims = { iss: 'acme', iat: NOW, exp: NOW + 120, jti: 'j-1', email: 'a@b.example' };
  const payloads = fc.oneof(
    fc.constant(JSON.stringify(claims)),
    fc.constant('null'),
    fc.constant('[1]'),
    fc.constant('not json'),
    fc.constant('{"iss":"acme","iat":1800000000,"exp":1800000120,"jti":"\u00e9","email":"\u00ff@b.example"}'),
    fc.json(),
    fc.string(),
  );
  const mutations = fc.constantFrom('none', 'pad', 'plus', 'drop1', 'dropSig', 'extraPart', 'emptyPayload', 'badSig', 'otherKey', 'sigLong');

  it('for any header, payload and mutation', async () => {
    await fc.assert(
      fc.asyncProperty(headers, payloads, mutations, async (header, payload, mutation) => {
        let h = b64(header);
        let p = b64(payload);
        let sig = mac(`${h}.${p}`, mutation === 'otherKey' ? OTHER : SECRET);
        if (mutation === 'pad') p += '=';
        if (mutation === 'plus') p = p.replace(/^./, '+');
        if (mutation === 'drop1') p = p.length % 4 === 2 ? p.slice(0, -1) : p + 'A';
        if (mutation === 'dropSig') sig = sig.slice(0, -1);
        if (mutation === 'badSig') sig = (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1);
        if (mutation === 'sigLong') sig += 'AAAA';
        if (mutation === 'emptyPayload') {
          p = '';
          sig = mac(`${h}.`, SECRET);
        }
        const token = mutation === 'extraPart' ? `${h}.${p}.${sig}.x` : `${h}.${p}.${sig}`;
        const keys = [key(SECRET)];
        expect(await verifyAssertion(token, keys, NOW)).toEqual(await verifyAssertionWithJose(token, keys, NOW));
      }),
      { numRuns: 600 },
    );
  });

  it('takes the fast lane for what a JWT library signs, and it verifies', async () => {
    const token = sign({});
    const subtle = jest.spyOn(globalThis.crypto.subtle, 'verify');
    try {
      expect((await verifyAssertion(token, [key(OTHER), key(SECRET)], NOW)).ok).toBe(true);
      expect(subtle).not.toHaveBeenCalled(); // no WebCrypto job
      expect(await verifyAssertionWithJose(token, [key(OTHER), key(SECRET)], NOW)).toEqual(await verifyAssertion(token, [key(OTHER), key(SECRET)], NOW));
      expect(subtle).toHaveBeenCalled(); // the reference is jose's
    } finally {
      subtle.mockRestore();
    }
  });
});
