import { identityClaimCtes, OWNED } from '../identities/identity-claim.sql';
import { emailDomain } from '../identities/instance';
import { iatSequenceSql, iatSubjectKey } from './iat-sequence';

export interface TokenRecordInput {
  jti: string;
  targetId: string;
  tenantId: string;
  userId: string;
  /** The session the token was minted for (sessions.id), null when there is none. */
  sessionId: string | null;
  /** Our clock, integer epoch seconds. */
  now: number;
  ttlSeconds: number;
  /**
   * Set for products that deny an iat not later than the previous one (Sisense): iat becomes
   * max(now, last + 1) for this BI user (scope = instance, subject = user), computed inside
   * the same statement.
   */
  iatKey?: { scope: string; subject: string };
  /**
   * The identity the BI instance will see (JWT SSO): the token is written only if the tenant
   * owns it there, claiming it first when nobody does (identityClaimCtes). Absent for signed
   * embeds, which sign nobody in.
   */
  identity?: { instance: string; email: string };
  /** Add the target to the session's targets_used, so logout can end the BI session too. */
  markSessionTarget: boolean;
  audit: { type: string; actor: string; ip: string | null; requestId: string | null; details: Record<string, unknown> };
}

/**
 * One statement that records a token, its audit event and the session's use of the target.
 * A single statement is atomic: either every row is written or none is, and the caller signs
 * and sends the token only after it succeeded ("if the write fails, no token leaves"). One
 * round trip instead of BEGIN / three statements / COMMIT keeps the SSO hot path short.
 *
 * The `seq` step yields the iat: a constant, or the Sisense iat sequence upsert (whose row
 * lock serialises concurrent logins of one user; see iat-sequence.ts).
 * Returns one row: owned (boolean), iat, exp (bigint as strings; null when nothing was written).
 */
export function tokenRecordStatement(r: TokenRecordInput): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const targetId = p(r.targetId);
  const tenantId = p(r.tenantId);
  const sessionId = p(r.sessionId);
  const ctes: string[] = [];
  let when: string | undefined;
  if (r.identity) {
    const email = r.identity.email.toLowerCase();
    ctes.push(...identityClaimCtes({ instance: p(r.identity.instance), email: p(email), domain: p(emailDomain(email)), tenantId }));
    when = OWNED;
  }
  // Data-modifying CTEs run whether or not they are read: the iat sequence of an identity the
  // tenant does not own must not move (else another tenant could exhaust it: 429 for the owner).
  const seq = r.iatKey === undefined
    ? `SELECT ${p(r.now)}::bigint AS last_iat${when ? ` WHERE ${when}` : ''}`
    : iatSequenceSql({ scope: p(r.iatKey.scope.slice(0, 600)), subject: p(iatSubjectKey(r.iatKey.subject)), now: p(r.now), when });
  ctes.push(
    `seq AS (${seq})`,
    `tok AS (
      INSERT INTO issued_tokens (jti, target_id, tenant_id, user_id, session_id, iat, exp)
      SELECT ${p(r.jti)}::uuid, ${targetId}::uuid, ${tenantId}::uuid, ${p(r.userId)}::uuid, ${sessionId}::varchar,
             seq.last_iat, seq.last_iat + ${p(r.ttlSeconds)}::bigint
        FROM seq
      RETURNING iat, exp)`,
    `aud AS (
      INSERT INTO audit_events (type, actor, tenant_id, ip, request_id, details)
      SELECT ${p(r.audit.type)}::varchar, ${p(r.audit.actor)}::varchar, ${tenantId}::uuid, ${p(r.audit.ip)}::varchar,
             ${p(r.audit.requestId)}::varchar, ${p(JSON.stringify(r.audit.details))}::jsonb || jsonb_build_object('iat', tok.iat, 'exp', tok.exp)
        FROM tok)`,
  );
  if (r.markSessionTarget && r.sessionId !== null) {
    // Only when not there yet: after the first handshake this updates nothing (no new row
    // version). Only when a token was recorded (not when the iat sequence refused one). sessions.id is char(64): compared as bpchar so its primary key index is used.
    ctes.push(`ses AS (
      UPDATE sessions SET targets_used = array_append(targets_used, ${targetId}::uuid)
       WHERE id = ${p(r.sessionId)}::bpchar AND tenant_id = ${tenantId}::uuid AND NOT (${targetId}::uuid = ANY (targets_used))
         AND EXISTS (SELECT 1 FROM tok))`);
  }
  // Always one row: whether the identity is the tenant's, and the token's iat/exp if written.
  const owned = r.identity ? OWNED : 'true';
  return { sql: `WITH ${ctes.join(',\n')}\nSELECT ${owned} AS owned, tok.iat, tok.exp FROM (SELECT 1) one LEFT JOIN tok ON true`, params };
}
