import { DomainError } from '../common/errors';

/**
 * Every refusal a hand-off can answer, with its status and the message the visitor (or the
 * SDK, as JSON) sees. The code is also the `reason` of the `handoff.denied` audit event,
 * which in addition has the reasons ANSWERED_AS hides from the client.
 */
export const HANDOFF_REFUSALS = {
  assertion_missing: [400, 'No hand-off assertion was sent (the "assertion" parameter)'],
  assertion_too_large: [400, 'The hand-off assertion is too large'],
  assertion_malformed: [400, 'The hand-off assertion is not a well-formed JWT'],
  // Also the answer when iss names no organization, or one without hand-off (ANSWERED_AS).
  bad_signature: [
    401,
    'The hand-off assertion is not signed by the organization it names (iss: its slug; HS256 with its hand-off secret), nor by an identity provider it trusts for this audience',
  ],
  invalid_times: [400, 'The hand-off assertion needs integer iat and exp claims'],
  assertion_expired: [401, 'The hand-off assertion has expired; sign a new one'],
  iat_in_future: [401, 'The hand-off assertion was issued in the future (iat more than 60 s ahead)'],
  assertion_not_yet_valid: [401, 'The hand-off assertion is not valid yet (nbf more than 60 s ahead)'],
  unsupported_crit: [400, 'The hand-off assertion marks header parameters as critical (crit), and this service implements none; sign it without crit'],
  assertion_too_long_lived: [401, 'The hand-off assertion lives too long (exp at most 300 s after iat)'],
  missing_jti: [400, 'The hand-off assertion has no jti (a unique id per assertion)'],
  invalid_email: [400, 'The hand-off assertion needs a valid email (claim email, or sub)'],
  invalid_claims: [400, 'The hand-off assertion\'s profile claims are not valid'],
  tenant_disabled: [403, 'This organization is disabled'],
  replay: [401, 'This hand-off assertion was already used; each one signs in once'],
  user_disabled: [403, 'This account is disabled'],
  email_not_verified: [403, 'The identity provider says this email address is not verified (email_verified: false)'],
  token_too_old: [401, 'The token was issued (or its sign-in happened) longer ago than this organization accepts; sign in again'],
  issuer_unavailable: [503, "The identity provider that signed the token could not be reached for its keys; try again shortly"],
  unknown_user: [403, 'No such user in this organization, and it does not create users on hand-off'],
} as const satisfies Record<string, readonly [number, string]>;

/**
 * Refusals only the audit trail tells apart, answered to the client as another. The hand-off
 * routes are public and `iss` is whatever the sender writes: if an unknown slug, or a tenant
 * without a hand-off secret, answered differently from a wrong signature, anyone could list
 * which organizations exist (and which use hand-off) with unsigned guesses. Like a login that
 * looks the same whether the account exists or not (OWASP Authentication Cheat Sheet).
 */
const ANSWERED_AS = {
  /** `iss` names no tenant (or is missing). */
  unknown_tenant: 'bad_signature',
  /** The tenant exists but has no hand-off secret. */
  handoff_not_configured: 'bad_signature',
  /** A trusted issuer's token with an algorithm the issuer's configuration does not allow (`none` and HS* never are). */
  algorithm_not_allowed: 'bad_signature',
  /** A trusted issuer's token whose kid is in none of its published keys, even after a refetch. */
  unknown_kid: 'bad_signature',
  /** A trusted issuer's token whose iss or aud is not the configured one. */
  wrong_issuer: 'bad_signature',
  wrong_audience: 'bad_signature',
} as const satisfies Record<string, keyof typeof HANDOFF_REFUSALS>;

/** The `reason` of a refused hand-off's audit event. */
export type HandoffRefusal = keyof typeof HANDOFF_REFUSALS | keyof typeof ANSWERED_AS;

/** The error the client gets for a refusal (the audit event keeps `reason` itself). */
export function handoffError(reason: HandoffRefusal, details?: Record<string, unknown>): DomainError {
  const code = reason in ANSWERED_AS ? ANSWERED_AS[reason as keyof typeof ANSWERED_AS] : (reason as keyof typeof HANDOFF_REFUSALS);
  const [status, message] = HANDOFF_REFUSALS[code];
  return new DomainError(code, status, message, details);
}

/** The hand-off admin API's codes (besides the refusals of a hand-off above). */
export enum HandoffError {
  // Out of the `<thing>_not_found` pattern (kept as answered today; renaming it changes the API).
  HandoffSecretNotFound = 'handoff secret',
}
