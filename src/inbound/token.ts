import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { Checked, UnverifiedToken } from './inbound-source';

/** Longer tokens are refused before any parsing (an ID token with a few groups fits in far less). */
export const MAX_ASSERTION_LENGTH = 8192;

/** A form body over the parser's limit: what was sent is gone, only its size is known. */
export const OVERSIZED = Symbol('oversized assertion');

/** The token's header, payload and `iss`, read before any key is known (nothing here is trusted). */
export function decodeHandoffToken(token: unknown): Checked<UnverifiedToken> {
  if (token === OVERSIZED) return { ok: false, reason: 'assertion_too_large' };
  if (typeof token !== 'string' || token.length === 0) return { ok: false, reason: 'assertion_missing' };
  if (token.length > MAX_ASSERTION_LENGTH) return { ok: false, reason: 'assertion_too_large', detail: { length: token.length } };
  let header: Record<string, unknown>;
  let payload: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(token) as Record<string, unknown>;
    payload = decodeJwt(token);
  } catch {
    return { ok: false, reason: 'assertion_malformed' };
  }
  const iss = payload.iss;
  if (typeof iss !== 'string' || !iss) return { ok: false, reason: 'unknown_tenant' };
  return { ok: true, value: { raw: token, header, payload, iss } };
}
