/*
 * Signing cost per token, HS256 vs RS256 (2048-bit) vs ES256 (P-256), as the service signs
 * (src/issuance/signer.ts: HS256 with node:crypto's HMAC, synchronously; RS256 and ES256 with
 * jose's CompactSign; keys imported once), one token at a time
 * (`BENCH_SIGNING_TOKENS`, default 5,000 each). No server, no database: the cryptography alone,
 * to set beside a handshake's total cost (bench/sso.ts).
 */
import { generateKeyPair } from 'jose';
import { webcrypto } from 'node:crypto';
import { signJwt, Signer } from '../src/issuance/signer';

const N = Number(process.env.BENCH_SIGNING_TOKENS ?? 5000);

async function perToken(signer: Signer): Promise<number> {
  const claims = { sub: 'ada@acme.example', email: 'ada@acme.example', role: 'Editor', iat: 1_800_000_000, exp: 1_800_000_120, jti: '' };
  for (let i = 0; i < 200; i++) await signJwt({ ...claims, jti: `w${i}` }, signer);
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await signJwt({ ...claims, jti: `t${i}` }, signer);
  return Number(process.hrtime.bigint() - start) / 1e3 / N;
}

async function main() {
  const hs = await webcrypto.subtle.importKey('raw', Buffer.from('bench-secret-0123456789abcdef0123456789'), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const rs = await generateKeyPair('RS256', { modulusLength: 2048 });
  const es = await generateKeyPair('ES256');
  const hsUs = await perToken({ alg: 'HS256', key: hs, header: {} });
  const rsUs = await perToken({ alg: 'RS256', key: rs.privateKey, header: { kid: 'k' } });
  const esUs = await perToken({ alg: 'ES256', key: es.privateKey, header: { kid: 'k' } });
  console.log(`${N} tokens each, one at a time`);
  for (const [alg, us] of [['HS256', hsUs], ['RS256', rsUs], ['ES256', esUs]] as const) {
    console.log(`${alg}: ${us.toFixed(1)} µs per token (${Math.round(1e6 / us)} /s), ${(us / hsUs).toFixed(1)}x HS256`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
