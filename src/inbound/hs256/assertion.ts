import { compactVerify, decodeJwt, decodeProtectedHeader, errors } from 'jose';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { Checked } from '../inbound-source';
import { decodeHandoffToken } from '../token';
import { normaliseEmail } from '../../common/identifiers';

export { MAX_ASSERTION_LENGTH, OVERSIZED } from '../token';
export type { Checked } from '../inbound-source';

/** The hand-off contract (README, "Host-app hand-off"): at most 5 minutes of life. */
export const MAX_LIFETIME_SECONDS = 300;
/** An iat this far ahead of our clock is tolerated (host and IdP clocks differ a little). */
export const MAX_IAT_SKEW_SECONDS = 60;
export const MAX_JTI_LENGTH = 200;

/** The claims a hand-off reads (others are ignored). */
export interface AssertionClaims {
  iss: string;
  iat: number;
  exp: number;
  nbf?: number;
  jti: string;
  email?: unknown;
  sub?: unknown;
  given_name?: unknown;
  family_name?: unknown;
  first_name?: unknown;
  last_name?: unknown;
  groups?: unknown;
  attributes?: unknown;
}

/** The tenant slug the assertion claims to come from (`iss`), read before any key is known. */
export function issuerOf(token: unknown): Checked<string> {
  const decoded = decodeHandoffToken(token);
  return decoded.ok ? { ok: true, value: decoded.value.iss } : decoded;
}

/**
 * Signature with any of the tenant's keys (two during a rotation), HS256 only (RFC 8725
 * §3.1: the verifier fixes the algorithm, never the token), then the time and id rules.
 * Pure: no clock but `now`, no I/O.
 */
export async function verifyAssertion(token: string, keys: KeyObject[], now: number): Promise<Checked<AssertionClaims>> {
  return checkedClaims(token, keys, now, false);
}

/** verifyAssertion with every signature checked by jose (the reference the fast lane is tested against). */
export function verifyAssertionWithJose(token: string, keys: KeyObject[], now: number): Promise<Checked<AssertionClaims>> {
  return checkedClaims(token, keys, now, true);
}

async function checkedClaims(token: string, keys: KeyObject[], now: number, joseOnly: boolean): Promise<Checked<AssertionClaims>> {
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(token) as Record<string, unknown>;
  } catch {
    return { ok: false, reason: 'assertion_malformed' };
  }
  // RFC 7515 §4.1.11: a recipient that does not implement every header parameter `crit` names
  // must refuse the JWS. We implement none, so any crit — even an empty or malformed one — is
  // refused. Refused after the signature: without the key the answer stays bad_signature,
  // whichever organization iss names. (jose refuses an unknown crit before it checks the
  // signature, so this one case checks the HS256 MAC itself.)
  if (Object.prototype.hasOwnProperty.call(header, 'crit')) {
    if (header.alg !== 'HS256' || !keys.some((k) => hs256Matches(token, k))) return { ok: false, reason: 'bad_signature' };
    return { ok: false, reason: 'unsupported_crit', detail: { crit: JSON.stringify(header.crit).slice(0, 200) } };
  }
  const verified = !joseOnly && plainHs256(token, header) ? verifyPlainHs256(token, keys) : await verifyWithJose(token, keys);
  if (verified === 'malformed') return { ok: false, reason: 'assertion_malformed' };
  const payload = verified;
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) return { ok: false, reason: 'bad_signature' };
  const { iat, exp, jti, nbf } = payload as Partial<Record<'iat' | 'exp' | 'nbf', number>> & { jti?: unknown };
  if (!Number.isInteger(iat) || !Number.isInteger(exp)) return { ok: false, reason: 'invalid_times' };
  if (nbf !== undefined && !Number.isInteger(nbf)) return { ok: false, reason: 'invalid_times' };
  if (iat! > now + MAX_IAT_SKEW_SECONDS) return { ok: false, reason: 'iat_in_future', detail: { iat, now } };
  // RFC 7519 §4.1.5, with the leeway iat gets for the host's clock running ahead of ours.
  if (nbf !== undefined && nbf > now + MAX_IAT_SKEW_SECONDS) return { ok: false, reason: 'assertion_not_yet_valid', detail: { nbf, now } };
  if (exp! - iat! > MAX_LIFETIME_SECONDS) return { ok: false, reason: 'assertion_too_long_lived', detail: { lifetime: exp! - iat! } };
  if (exp! <= now) return { ok: false, reason: 'assertion_expired', detail: { exp, now } };
  if (typeof jti !== 'string' || !jti || jti.length > MAX_JTI_LENGTH) return { ok: false, reason: 'missing_jti' };
  return { ok: true, value: payload as unknown as AssertionClaims };
}

/** The email the assertion names: `email`, else `sub` (trimmed, lower-cased; checked by the caller). */
export function emailOf(c: AssertionClaims): string | null {
  const raw = typeof c.email === 'string' ? c.email : typeof c.sub === 'string' ? c.sub : null;
  return raw === null ? null : normaliseEmail(raw);
}

/** OIDC's given_name/family_name (OpenID Connect Core §5.1), or first_name/last_name as Metabase names them. */
export function profileOf(c: AssertionClaims): { firstName?: unknown; lastName?: unknown; attributes?: unknown; groups?: string[] } {
  const groups = Array.isArray(c.groups) ? c.groups.filter((g): g is string => typeof g === 'string').map((g) => g.trim()) : undefined;
  return {
    firstName: c.given_name ?? c.first_name,
    lastName: c.family_name ?? c.last_name,
    attributes: c.attributes,
    groups,
  };
}

/** HS256 (RFC 7518 §3.2) over the token's first two parts, compared in constant time. */
function hs256Matches(token: string, key: KeyObject): boolean {
  const parts = token.split('.');
  if (parts.length !== 3) return false;
  const expected = createHmac('sha256', key).update(`${parts[0]}.${parts[1]}`).digest();
  const given = Buffer.from(parts[2], 'base64url');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The payload (parsed JSON) the first key verifies; null: no key does; 'malformed': not a JWS jose accepts. */
type Verified = Record<string, unknown> | null | 'malformed';

/** jose's compactVerify with each key in turn, HS256 only. */
async function verifyWithJose(token: string, keys: KeyObject[]): Promise<Verified> {
  for (const key of keys) {
    try {
      const verified = await compactVerify(token, key, { algorithms: ['HS256'] });
      return parsePayload(verified.payload);
    } catch (e) {
      if (e instanceof SyntaxError || e instanceof errors.JWSInvalid) return 'malformed';
    }
  }
  return null;
}

function parsePayload(bytes: Uint8Array): Verified {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return 'malformed';
  }
}

const B64URL = /^[A-Za-z0-9_-]+$/;
/** The header members a plain HS256 JWS has; anything else (b64, crit, jwk, …) goes to jose. */
const PLAIN_HEADER = new Set(['alg', 'typ', 'kid']);

/**
 * A token every check of jose's compactVerify but the MAC itself is known to pass (RFC 7515
 * §5.2): three non-empty base64url segments without padding, decodable (no segment of length
 * 4k+1), a 32-byte signature, a header (already decoded by jose) of alg HS256 with at most
 * typ and kid besides. What a host app's JWT library produces; anything else is verified by
 * jose itself, so the two ways can only differ in speed (assertion.spec compares them).
 */
function plainHs256(token: string, header: Record<string, unknown>): boolean {
  if (header.alg !== 'HS256') return false;
  for (const k of Object.keys(header)) if (!PLAIN_HEADER.has(k)) return false;
  const parts = token.split('.');
  return (
    parts.length === 3 &&
    parts.every((p) => B64URL.test(p) && p.length % 4 !== 1) &&
    parts[2].length === 43
  );
}

/**
 * HS256 (RFC 7518 §3.2) with node:crypto's HMAC, synchronously: jose verifies only through
 * WebCrypto, whose HMAC runs as a job on libuv's thread pool — measured in the hand-off bench's
 * CPU profile, about 0.15 ms of the service's CPU per hand-off (as signer.ts found for signing).
 */
function verifyPlainHs256(token: string, keys: KeyObject[]): Verified {
  if (!keys.some((k) => hs256Matches(token, k))) return null;
  return parsePayload(Buffer.from(token.split('.')[1], 'base64url'));
}
