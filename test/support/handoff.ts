import jwt from 'jsonwebtoken';
import { randomUUID } from 'node:crypto';

/**
 * A host app's hand-off assertion, signed as the README tells host apps to: HS256 with the
 * tenant's hand-off secret, iss = tenant slug, a fresh jti, 2 minutes of life.
 * `claims` overrides or adds; a claim set to undefined is left out.
 */
export function signAssertion(secret: string, tenantSlug: string, claims: Record<string, unknown> = {}, opts: jwt.SignOptions = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = { iss: tenantSlug, iat: now, exp: now + 120, jti: randomUUID(), ...claims };
  for (const k of Object.keys(payload)) if (payload[k] === undefined) delete payload[k];
  // jsonwebtoken keeps the payload's iat (it adds one only when there is none).
  return jwt.sign(payload, secret, { algorithm: 'HS256', ...opts });
}
