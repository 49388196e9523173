import type { Response } from 'express';
import { once } from 'node:events';
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

/**
 * Streams `pages` to `res` as an attachment (the admin API's export and the console's
 * download): each page written as it is read, waiting for a slow client to drain before the
 * next (back-pressure), so memory stays that of one page. Should reading fail half-way, the
 * connection is cut rather than ended, so the download is seen as broken, not as complete.
 */
/**
 * Waits for 'drain' or 'close', then removes the other listener: a plain race of two once()
 * leaves the loser attached, one more per page that hits back-pressure, for the whole response.
 */
async function drainedOrClosed(res: Response): Promise<void> {
  const done = new AbortController();
  try {
    await Promise.race([once(res, 'drain', { signal: done.signal }), once(res, 'close', { signal: done.signal })]);
  } finally {
    done.abort();
  }
}

/** Characters per write: well below V8's regular-object limit (kMaxRegularHeapObjectSize, 128 KB). */
const CHUNK_CHARS = 32 * 1024;

export async function writeAuditExport(res: Response, pages: AsyncIterable<AuditEvent[]>, format: 'ndjson' | 'csv'): Promise<void> {
  const csv = format === 'csv';
  const stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, '');
  res.status(200);
  res.setHeader('Content-Type', csv ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
  res.setHeader('Content-Disposition', `attachment; filename="audit-events-${stamp}.${csv ? 'csv' : 'ndjson'}"`);
  res.setHeader('Cache-Control', 'no-store');
  if (csv) res.write(csvLine([...EXPORT_COLUMNS]));
  try {
    for await (const page of pages) {
      let chunk = '';
      for (const e of page) {
        if (res.destroyed) return;
        chunk += csv ? auditEventCsv(e) : `${JSON.stringify(auditEventJson(e))}\n`;
        // Written in pieces of about CHUNK_CHARS, not a page at a time: a small string dies
        // young (cheap scavenges); one of a whole page (~400 KB) lands in V8's large-object
        // space, which only a full mark-compact frees.
        if (chunk.length >= CHUNK_CHARS) {
          const ok = res.write(chunk);
          chunk = '';
          if (!ok) await drainedOrClosed(res);
        }
      }
      if (chunk && !res.write(chunk)) await drainedOrClosed(res);
    }
    if (res.destroyed) return;
    res.end();
  } catch (err) {
    res.destroy(err as Error);
  }
}
