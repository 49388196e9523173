import { auditInsertSql } from '../audit/audit-insert.sql';
import { markTargetsUsedSql } from '../auth/sessions.sql';
import { identityClaimCtes } from '../identities/identity-claim.sql';
import { emailDomain } from '../identities/instance';
import { iatSequenceBatchSql, iatSubjectKey } from './iat-sequence';

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

/** What every token record is made of, whichever flow mints the token. */
export interface TokenIssue {
  jti: string;
  target: { id: string; slug: string };
  session: { id: string; tenant: { id: string }; user: { id: string } };
  meta: { actor: string; ip: string | null; requestId: string | null };
  now: number;
  ttlSeconds: number;
  /** The audit event's type (`sso.token_issued`, `embed.issued`, `broker.token_issued`). */
  type: string;
  /** The flow's own audit details, next to target, targetId, userId and jti. */
  details?: Record<string, unknown>;
  markSessionTarget?: boolean;
  iatKey?: TokenRecordInput['iatKey'];
  identity?: TokenRecordInput['identity'];
}

/**
 * The record of a token about to be issued, and its audit event: the one place the ledger
 * row and the event that explains it are put together, for every flow.
 */
export function tokenRecordInput(t: TokenIssue): TokenRecordInput {
  const { session, target } = t;
  return {
    jti: t.jti,
    targetId: target.id,
    tenantId: session.tenant.id,
    userId: session.user.id,
    sessionId: session.id,
    now: t.now,
    ttlSeconds: t.ttlSeconds,
    ...(t.iatKey ? { iatKey: t.iatKey } : {}),
    ...(t.identity ? { identity: t.identity } : {}),
    markSessionTarget: t.markSessionTarget ?? false,
    audit: {
      type: t.type,
      actor: t.meta.actor,
      ip: t.meta.ip,
      requestId: t.meta.requestId,
      details: { target: target.slug, targetId: target.id, userId: session.user.id, jti: t.jti, ...t.details },
    },
  };
}

/** Per input, in order: whether its tenant owns the identity, and the token's iat/exp if written. */
export interface TokenRecordRow {
  n: string;
  owned: boolean;
  iat: string | null;
  exp: string | null;
}

/** The input columns, in parameter order ($1 ..): one array per column, one element per token. */
const COLUMNS: [string, string][] = [
  ['jti', 'uuid'],
  ['target_id', 'uuid'],
  ['tenant_id', 'uuid'],
  ['user_id', 'uuid'],
  ['session_id', 'varchar'],
  ['now', 'bigint'],
  ['ttl', 'bigint'],
  ['iat_scope', 'varchar'],
  ['iat_subject', 'varchar'],
  ['instance', 'varchar'],
  ['email', 'varchar'],
  ['domain', 'varchar'],
  ['mark', 'boolean'],
  ['audit_type', 'varchar'],
  ['audit_actor', 'varchar'],
  ['audit_ip', 'varchar'],
  ['audit_request_id', 'varchar'],
  ['audit_details', 'text'],
];

/**
 * One statement that records a batch of tokens (group commit, src/common/batcher.ts): for
 * each, the token, its audit event and the session's use of the target. A statement is
 * atomic: every row is written or none is, and each caller signs and sends its token only
 * after the statement returned ("if the write fails, no token leaves"). One round trip and one
 * commit for the whole batch keep the SSO hot path short.
 *
 * The input is unnested from arrays, so the text is the same for every batch size: one named
 * (prepared) statement. Per token: written only if its tenant owns the identity (`own`, the
 * identities module's CTEs) and, for a sequenced iat (Sisense), only if the sequence advanced
 * (`seq`: max(now, last + 1) under the lead cap; see iat-sequence.ts). Data-modifying CTEs run
 * whether or not they are read: the sequence is advanced only for owned rows (else another
 * tenant could exhaust it: 429 for the owner).
 *
 * Returns one row per input in order (TokenRecordRow: bigints as strings, iat null when
 * nothing was written for it).
 */
export const TOKEN_RECORD_SQL = `
  WITH inp AS (
    SELECT * FROM unnest(${COLUMNS.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ')})
      WITH ORDINALITY AS i(${COLUMNS.map(([name]) => name).join(', ')}, n)),
  ${identityClaimCtes('inp').join(',\n  ')},
  seq AS (${iatSequenceBatchSql(`SELECT i.iat_scope, i.iat_subject, i.now FROM inp i JOIN own USING (n) WHERE i.iat_scope IS NOT NULL`)}),
  ok AS (
    SELECT i.*, COALESCE(seq.last_iat, i.now) AS iat
      FROM inp i JOIN own USING (n)
      LEFT JOIN seq ON seq.scope = i.iat_scope AND seq.subject = i.iat_subject
     WHERE i.iat_scope IS NULL OR seq.last_iat IS NOT NULL),
  tok AS (
    INSERT INTO issued_tokens (jti, target_id, tenant_id, user_id, session_id, iat, exp)
    SELECT jti, target_id, tenant_id, user_id, session_id, iat, iat + ttl FROM ok
    RETURNING jti, iat, exp),
  aud AS (${auditInsertSql(`SELECT ok.audit_type, ok.audit_actor, ok.tenant_id, ok.audit_ip, ok.audit_request_id,
           ok.audit_details::jsonb || jsonb_build_object('iat', tok.iat, 'exp', tok.exp)
      FROM ok JOIN tok USING (jti)`)}),
  ses AS (${markTargetsUsedSql(`SELECT ok.session_id, ok.tenant_id, ok.target_id FROM ok JOIN tok USING (jti)
                                WHERE ok.mark AND ok.session_id IS NOT NULL`)})
  SELECT i.n, own.n IS NOT NULL AS owned, tok.iat, tok.exp
    FROM inp i LEFT JOIN own USING (n) LEFT JOIN tok USING (jti)
   ORDER BY i.n`;

/** The statement's parameters for `inputs`: one array per column (COLUMNS order). */
export function tokenRecordParams(inputs: TokenRecordInput[]): unknown[][] {
  const cols: unknown[][] = COLUMNS.map(() => []);
  for (const r of inputs) {
    const email = r.identity ? r.identity.email.toLowerCase() : null;
    const row: unknown[] = [
      r.jti,
      r.targetId,
      r.tenantId,
      r.userId,
      r.sessionId,
      r.now,
      r.ttlSeconds,
      r.iatKey ? r.iatKey.scope.slice(0, 600) : null,
      r.iatKey ? iatSubjectKey(r.iatKey.subject) : null,
      r.identity ? r.identity.instance : null,
      email,
      email ? emailDomain(email) : null,
      r.markSessionTarget,
      r.audit.type,
      r.audit.actor,
      r.audit.ip,
      r.audit.requestId,
      JSON.stringify(r.audit.details),
    ];
    row.forEach((v, i) => cols[i].push(v));
  }
  return cols;
}

/** Tokens of one subject's iat sequence never share a batch (batcher conflictKey). */
export function iatConflictKey(r: TokenRecordInput): string | undefined {
  return r.iatKey ? `${r.iatKey.scope.slice(0, 600)}\n${iatSubjectKey(r.iatKey.subject)}` : undefined;
}
