import { EnvReader } from './env';

/** The `audit` namespace: how long the audit trail is kept. */
export interface AuditNamespace {
  /**
   * Events are kept at least this many days; whole monthly partitions are dropped once every
   * row in them is older (so at most a month longer).
   */
  retentionDays: number;
}

/** AUDIT_RETENTION_DAYS. */
export function parseAudit(read: EnvReader): AuditNamespace {
  // 400 days: a year and a month, enough for an annual audit (SOC 2 type II covers 12 months).
  return { retentionDays: read.int('AUDIT_RETENTION_DAYS', 400, 31, 36_500) };
}
