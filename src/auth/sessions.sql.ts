/**
 * The sessions table as SQL fragments for the SSO hot path's one recording statement
 * (src/sso/token-record.ts).
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
