import { CompactSign, type CryptoKey } from 'jose';
import type { AsymmetricAlg } from '../products/product-definition';

/**
 * Everything a token is signed with, resolved before the token is recorded (a target missing
 * its key is refused with nothing written) and used after: the algorithm, a key imported once
 * and cached (importing per token would cost more than the signature), and the header.
 */
export interface Signer {
  alg: 'HS256' | AsymmetricAlg;
  key: CryptoKey;
  /** JOSE header fields besides alg and typ (e.g. the key's kid). */
  header: Record<string, string>;
}

const encoder = new TextEncoder();

/**
 * A compact JWS over exactly this payload (RFC 7515 §7.1; no claim added), header
 * `{alg, typ: "JWT", ...}` as every product's contract expects (RFC 7519 §5.1).
 */
export function signJwt(payload: Record<string, unknown>, s: Signer): Promise<string> {
  return new CompactSign(encoder.encode(JSON.stringify(payload))).setProtectedHeader({ alg: s.alg, typ: 'JWT', ...s.header }).sign(s.key);
}
