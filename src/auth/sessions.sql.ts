import { joinTenant, tenantEnabled } from '../tenants/tenants.sql';
import { joinUser, userEnabled } from '../users/users.sql';

/**
 * The sessions table as SQL fragments for the SSO hot path: its one read (src/issuance/sso.repository.ts
 * loads the session with the target) and its one recording statement (src/issuance/token-record.ts).
 *
 * `liveSessionsSql(where, idleSeconds)`: the live sessions matching `where` (on `s`), as rows
 * SessionsService turns into a SessionContext (`fromRow`). Live: not revoked, before its
 * absolute expiry, within the idle timeout (`idleSeconds`, a placeholder), its user and tenant
 * enabled (the users and tenants modules' conditions) — disabling either ends it at once. The
 * same text is SessionsService's own lookup.
 *
 * `markTargetsUsedSql(source)`: adds targets to their sessions' `targets_used` (so logout can
 * end the BI sessions too). `source` yields rows (session_id, tenant_id, target_id); a session
 * is only touched when one of its targets is new, so after the first handshake this writes no
 * new row version. sessions.id is char(64): compared as bpchar so its primary key index is used.
 */
export function markTargetsUsedSql(source: string): string {
  return `UPDATE sessions s SET targets_used = s.targets_used || ARRAY(SELECT unnest(m.targets) EXCEPT SELECT unnest(s.targets_used))
      FROM (SELECT src.session_id, src.tenant_id, array_agg(DISTINCT src.target_id) AS targets
              FROM (${source}) src GROUP BY src.session_id, src.tenant_id) m
     WHERE s.id = m.session_id::bpchar AND s.tenant_id = m.tenant_id AND NOT (m.targets <@ s.targets_used)`;
}

export function liveSessionsSql(where: string, idleSeconds: string): string {
  return `SELECT s.id, s.created_at, s.expires_at, s.last_seen_at, s.targets_used,
         u.id AS user_id, u.email, u.first_name, u.last_name, u.attributes AS user_attributes,
         t.id AS tenant_id, t.slug, t.name AS tenant_name, t.attributes AS tenant_attributes
    FROM sessions s
    ${joinUser('u', { userId: 's.user_id', tenantId: 's.tenant_id' })}
    ${joinTenant('t', 's.tenant_id')}
   WHERE ${where} AND s.revoked_at IS NULL AND s.expires_at > now()
     AND s.last_seen_at > now() - make_interval(secs => ${idleSeconds}::int)
     AND ${userEnabled('u')} AND ${tenantEnabled('t')}`;
}

/** A row of liveSessionsSql. */
export interface LiveSessionRow {
  id: string;
  created_at: Date;
  expires_at: Date;
  last_seen_at: Date;
  targets_used: string[] | null;
  user_id: string;
  email: string;
  first_name: string;
  last_name: string;
  user_attributes: Record<string, string | number | boolean>;
  tenant_id: string;
  slug: string;
  tenant_name: string;
  tenant_attributes: Record<string, string | number | boolean>;
}
