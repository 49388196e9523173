import { ValidateBy, ValidationOptions } from 'class-validator';

/**
 * ISO 8601 calendar dates and date-times (RFC 3339 §5.6 plus the forms a browser's
 * datetime-local field sends): YYYY-MM-DD, then optionally Thh:mm, :ss, a fraction and a zone
 * (Z or ±hh:mm / ±hhmm). Without a zone the value is UTC, as the console's fields say. Week
 * (2025-W01) and ordinal (2025-001) dates, expanded years and impossible days or hours are
 * refused: `new Date` reads some of them as another day and others as Invalid Date, which must
 * reach neither a query nor a filter the caller did not mean.
 */
const INSTANT = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

export function parseInstant(raw: unknown): Date | null {
  if (typeof raw !== 'string') return null;
  const m = INSTANT.exec(raw);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((v) => Number(v ?? 0));
  const ms = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  let offsetMinutes = 0;
  const zone = m[8];
  if (zone && zone !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    const [oh, om] = [Number(digits.slice(0, 2)), Number(digits.slice(2))];
    if (oh > 23 || om > 59) return null;
    offsetMinutes = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const d = new Date(0);
  // setUTCFullYear, not Date.UTC: the latter reads years 0-99 as 1900-1999.
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute - offsetMinutes, second, ms);
  return d;
}

function daysIn(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}

export const instantMessage = (field: string) =>
  `${field} must be an ISO 8601 date or date-time, e.g. 2025-01-31 or 2025-01-31T12:00:00Z (no zone: UTC; week and ordinal dates are not accepted)`;

/** A query or body field read by parseInstant: what it refuses, validation refuses. */
export const IsInstant = (field: string, options?: ValidationOptions) =>
  ValidateBy({ name: 'isInstant', validator: { validate: (value: unknown) => parseInstant(value) !== null } }, { message: instantMessage(field), ...options });

/** A moment as people read it on our pages and guides: `2026-12-05 01:30 UTC` (to the minute). */
export function utcMinute(d: Date | string): string {
  return `${new Date(d).toISOString().replace('T', ' ').slice(0, 16)} UTC`;
}
