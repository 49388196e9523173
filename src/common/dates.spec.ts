import { parseInstant, utcMinute } from './dates';

/** One reading of a date for every filter (the admin API and the console): ISO 8601 calendar dates only. */
describe('parseInstant', () => {
  it.each([
    ['2025-01-31', '2025-01-31T00:00:00.000Z'],
    ['2025-01-31T12:00', '2025-01-31T12:00:00.000Z'],
    ['2025-01-31T12:00:05', '2025-01-31T12:00:05.000Z'],
    ['2025-01-31T12:00:05.123456Z', '2025-01-31T12:00:05.123Z'],
    ['2025-01-31T12:00:00+02:00', '2025-01-31T10:00:00.000Z'],
    ['2025-01-31T12:00:00-0130', '2025-01-31T13:30:00.000Z'],
    ['2024-02-29', '2024-02-29T00:00:00.000Z'],
    ['0099-06-01', '0099-06-01T00:00:00.000Z'],
  ])('%s is %s (no zone: UTC)', (raw, iso) => {
    expect(parseInstant(raw)?.toISOString()).toBe(iso);
  });

  it.each([
    '2025-W01', '2025-W01-1', '2025-001', '2025-02-30', '2023-02-29', '2025-13-01', '2025-00-10', '2025-01-00',
    '2025-01-01T24:00', '2025-01-01T12:60', '2025-01-01T12:00:60', '2025-01-01T12:00:00+25:00', '2025-01-01T12:00:00+01:60',
    '+002025-01-01', '2025', '2025-01', 'yesterday', '', ' 2025-01-01', '2025-01-01 12:00', '20250101', '1e12', '2025-01-01T12',
  ])('%j is refused', (raw) => {
    expect(parseInstant(raw)).toBeNull();
  });

  it('refuses what is not a string', () => {
    expect(parseInstant(20250101)).toBeNull();
    expect(parseInstant(['2025-01-01'])).toBeNull();
    expect(parseInstant(undefined)).toBeNull();
  });
});

describe('utcMinute', () => {
  it('reads a moment to the minute in UTC, from a Date or its ISO string', () => {
    expect(utcMinute(new Date('2026-12-05T01:30:59.999Z'))).toBe('2026-12-05 01:30 UTC');
    expect(utcMinute('2026-12-05T03:30:00+02:00')).toBe('2026-12-05 01:30 UTC');
  });
});
