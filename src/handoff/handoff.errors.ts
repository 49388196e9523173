import { DomainError } from '../common/errors';

/**
 * Every refusal a hand-off can answer, with its status and the message the visitor (or the
 * SDK, as JSON) sees. The code is also the `reason` of the `handoff.denied` audit event.
 */
export const HANDOFF_REFUSALS = {
  assertion_missing: [400, 'No hand-off assertion was sent (the "assertion" parameter)'],
  assertion_too_large: [400, 'The hand-off assertion is too large'],
  assertion_malformed: [400, 'The hand-off assertion is not a well-formed JWT'],
  unknown_tenant: [401, 'The hand-off assertion names no known organization (iss must be its slug)'],
  handoff_not_configured: [401, 'This organization has no hand-off secret configured'],
  bad_signature: [401, 'The hand-off assertion\'s signature is not valid (HS256 with the organization\'s hand-off secret)'],
  invalid_times: [400, 'The hand-off assertion needs integer iat and exp claims'],
  assertion_expired: [401, 'The hand-off assertion has expired; sign a new one'],
  iat_in_future: [401, 'The hand-off assertion was issued in the future (iat more than 60 s ahead)'],
  assertion_too_long_lived: [401, 'The hand-off assertion lives too long (exp at most 300 s after iat)'],
  missing_jti: [400, 'The hand-off assertion has no jti (a unique id per assertion)'],
  invalid_email: [400, 'The hand-off assertion needs a valid email (claim email, or sub)'],
  invalid_claims: [400, 'The hand-off assertion\'s profile claims are not valid'],
  tenant_disabled: [403, 'This organization is disabled'],
  replay: [401, 'This hand-off assertion was already used; each one signs in once'],
  user_disabled: [403, 'This account is disabled'],
  unknown_user: [403, 'No such user in this organization, and it does not create users on hand-off'],
} as const satisfies Record<string, readonly [number, string]>;

export type HandoffRefusal = keyof typeof HANDOFF_REFUSALS;

export function handoffError(code: HandoffRefusal, details?: Record<string, unknown>): DomainError {
  const [status, message] = HANDOFF_REFUSALS[code];
  return new DomainError(code, status, message, details);
}
