import fc from 'fast-check';
import { CompactSign, type CryptoKey } from 'jose';
import { webcrypto } from 'node:crypto';
import { signJwt } from './signer';

/** HS256 is signed with node:crypto (synchronous); it must be exactly what jose would sign. */
describe('signJwt HS256', () => {
  const importKey = (secret: string) =>
    webcrypto.subtle.importKey('raw', Buffer.from(secret, 'utf8'), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']) as Promise<CryptoKey>;
  const viaJose = (payload: Record<string, unknown>, key: CryptoKey, header: Record<string, string>) =>
    new CompactSign(new TextEncoder().encode(JSON.stringify(payload))).setProtectedHeader({ alg: 'HS256', typ: 'JWT', ...header }).sign(key);

  it('is byte for byte the compact JWS jose makes, for any payload, header and secret', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1, maxLength: 80, unit: 'binary' }),
        fc.dictionary(fc.string({ unit: 'binary' }), fc.jsonValue()),
        fc.dictionary(fc.constantFrom('kid', 'cty', 'x'), fc.string({ unit: 'binary' })),
        async (secret, payload, header) => {
          const key = await importKey(secret);
          const mine = await signJwt(payload as Record<string, unknown>, { alg: 'HS256', key, header });
          expect(mine).toBe(await viaJose(payload as Record<string, unknown>, key, header));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('signs with the key it is given (another secret, another signature)', async () => {
    const payload = { sub: 'a', iat: 1 };
    const a = await signJwt(payload, { alg: 'HS256', key: await importKey('secret-one-0123456789abcdef0123456789'), header: {} });
    const b = await signJwt(payload, { alg: 'HS256', key: await importKey('secret-two-0123456789abcdef0123456789'), header: {} });
    expect(a.split('.').slice(0, 2)).toEqual(b.split('.').slice(0, 2));
    expect(a.split('.')[2]).not.toBe(b.split('.')[2]);
  });
});
