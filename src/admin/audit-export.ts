import type { AuditEvent } from '../audit/audit-event.entity';

export const EXPORT_COLUMNS = ['id', 'type', 'actor', 'tenantId', 'ip', 'requestId', 'at', 'details'] as const;

/** An event as the API shows it (the list endpoint's items, the export's lines). */
export function auditEventJson(e: AuditEvent) {
  return {
    id: String(e.id),
    type: e.type,
    actor: e.actor,
    tenantId: e.tenantId,
    ip: e.ip,
    requestId: e.requestId,
    at: e.at,
    details: e.details,
  };
}

/**
 * One CSV field (RFC 4180 §2: quoted when it holds a comma, quote, CR or LF; quotes doubled).
 * A field a spreadsheet would read as a formula (starting with = + - @, tab or CR) gets a
 * leading apostrophe first, as OWASP's "CSV Injection" page advises: audit rows carry what
 * anyone typed (a login name, a User-Agent), and an operator opens the export in Excel.
 */
export function csvField(value: string | null): string {
  if (value === null) return '';
  const v = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** One CSV record, CRLF-terminated (RFC 4180 §2.1). */
export function csvLine(fields: (string | null)[]): string {
  return `${fields.map(csvField).join(',')}\r\n`;
}

export function auditEventCsv(e: AuditEvent): string {
  const j = auditEventJson(e);
  return csvLine([j.id, j.type, j.actor, j.tenantId, j.ip, j.requestId, new Date(j.at).toISOString(), JSON.stringify(j.details)]);
}
