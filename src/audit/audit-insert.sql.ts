/**
 * The audit module's table as a SQL fragment, for the SSO hot path's one recording statement
 * (src/issuance/token-record.ts): the event is written in the same statement as the token it
 * describes, so both commit or neither does, without another round trip. `select` yields, in
 * order: type, actor, tenant_id, ip, request_id, details (jsonb). Everything else writes
 * events through AuditService.record. The caller counts the event in the metrics
 * (MetricsService.audited), as AuditService does.
 */
export function auditInsertSql(select: string): string {
  return `INSERT INTO audit_events (type, actor, tenant_id, ip, request_id, details) ${select}`;
}
