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
  // Nothing of the token may reach a statement as text Postgres cannot store: a NUL, or a lone
  // surrogate (no UTF-8 encoding). Either fails the whole statement — and the hand-off's
  // statements are shared by concurrent hand-offs of every tenant (src/common/batcher.ts), so
  // one such token would fail its neighbours' batch and have each of them run again alone.
  if (!storableText(header) || !storableText(payload)) return { ok: false, reason: 'assertion_malformed' };
  const iss = payload.iss;
  if (typeof iss !== 'string' || !iss) return { ok: false, reason: 'unknown_tenant' };
  return { ok: true, value: { raw: token, header, payload, iss } };
}

/** A NUL, an unpaired high surrogate, or an unpaired low surrogate. */
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Every string in `value` (object keys included, at any depth) is text Postgres can store. */
export function storableText(value: unknown): boolean {
  if (typeof value === 'string') return !UNSTORABLE.test(value);
  if (Array.isArray(value)) return value.every(storableText);
  if (value && typeof value === 'object') return Object.entries(value).every(([k, v]) => !UNSTORABLE.test(k) && storableText(v));
  return true;
}
