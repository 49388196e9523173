/**
 * The audit module's table as SQL fragments, for the audit streams (src/streams): what a
 * delivery sends, read by the event's primary key (id, at), and the events of a time range.
 */

/** `LEFT JOIN`s the event of `delivery` (columns event_id, event_at) as `e`. */
export function auditEventJoinSql(delivery: string): string {
  return `LEFT JOIN audit_events e ON e.id = ${delivery}.event_id AND e.at = ${delivery}.event_at`;
}

/**
 * The Standard Webhooks payload of `e` (from auditEventJoinSql) as text, null when the event is
 * gone: {"type", "timestamp", "data": the event as the admin API's list shows it}.
 */
export const AUDIT_EVENT_PAYLOAD_SQL = `CASE WHEN e.id IS NOT NULL THEN jsonb_build_object('type', e.type, 'timestamp', e.at,
  'data', jsonb_build_object('id', e.id::text, 'type', e.type, 'actor', e.actor, 'tenantId', e.tenant_id, 'ip', e.ip,
                             'requestId', e.request_id, 'at', e.at, 'details', e.details))::text END`;

/** Events (as `e`: id, at, type, tenant_id, …) with `from` <= at < `to` (SQL expressions). */
export function auditEventsInRangeSql(from: string, to: string): string {
  return `audit_events e WHERE e.at >= ${from} AND e.at < ${to}`;
}
