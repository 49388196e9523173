import { DataSource } from 'typeorm';
import { AuditPartitions, MONTHS_AHEAD } from '../../src/audit/audit-partitions';
import { createDataSource } from '../../src/database/data-source';
import { runMigrationsLocked } from '../../src/database/migrations-runner';
import { createDatabase, dropDatabase } from '../setup/test-db';

const monthStart = (d: Date) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
const addMonths = (d: Date, n: number) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + n, 1));
const DAY = 86_400_000;

/** What the previous version writes (AuditService.record and the SSO hot path's statement). */
const insertAsBefore = (ds: DataSource, type: string, at: Date | string) =>
  ds.query(`INSERT INTO audit_events (type, actor, tenant_id, ip, request_id, at, details) VALUES ($1, 'system', NULL, '10.0.0.1', 'r', $2, $3) RETURNING id`, [
    type,
    at,
    JSON.stringify({ n: type }),
  ]);

describe('audit_events partitioned by month', () => {
  let db: { name: string; url: string };
  let ds: DataSource;
  const partitions = (retentionDays = 400) => new AuditPartitions(ds, { addInterval: () => undefined } as never, { retentionDays });

  beforeAll(async () => {
    db = await createDatabase({ empty: true });
    ds = createDataSource(db.url, 4);
    await ds.initialize();
  });
  afterAll(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await dropDatabase(db.name);
  });

  it('the migration keeps every row of the existing table, ids included, and the previous version still writes', async () => {
    await runMigrationsLocked(ds);
    for (;;) {
      const [last] = await ds.query(`SELECT name FROM migrations ORDER BY id DESC LIMIT 1`);
      await ds.undoLastMigration({ transaction: 'each' });
      if (last.name === 'PartitionAuditEvents1765500000000') break;
    }
    expect((await ds.query(`SELECT relkind FROM pg_class WHERE relname = 'audit_events'`))[0].relkind).toBe('r');
    const now = Date.now();
    for (let i = 0; i < 300; i++) await insertAsBefore(ds, `t.${i}`, new Date(now - i * 3 * DAY));
    await ds.query(`INSERT INTO audit_events (type, actor, at) VALUES ('ancient', 'system', '1999-01-01T00:00:00Z')`);
    const before = await ds.query(`SELECT * FROM audit_events ORDER BY id`);
    expect(before).toHaveLength(301);

    await runMigrationsLocked(ds);
    expect((await ds.query(`SELECT relkind FROM pg_class WHERE relname = 'audit_events'`))[0].relkind).toBe('p');
    expect(await ds.query(`SELECT * FROM audit_events ORDER BY id`)).toEqual(before);

    // The old table is the first partition (everything before next month); three months follow.
    const parts = await partitions().list();
    expect(parts[0]).toMatchObject({ from: null, to: addMonths(monthStart(new Date()), 1) });
    expect(parts.map((p) => p.to)).toEqual([1, 2, 3, 4].map((n) => addMonths(monthStart(new Date()), n)));

    // The previous version's insert still works, and ids continue past the old table's.
    const [{ id }] = await insertAsBefore(ds, 'after', new Date());
    expect(BigInt(id)).toBeGreaterThan(BigInt(before[before.length - 1].id));
    const [{ id: ahead }] = await insertAsBefore(ds, 'next-month', addMonths(monthStart(new Date()), 1));
    expect(BigInt(ahead)).toBe(BigInt(id) + 1n);
    expect(await ds.query(`SELECT tableoid::regclass::text AS p FROM audit_events WHERE type = 'next-month'`)).toEqual([
      { p: `audit_events_${addMonths(monthStart(new Date()), 1).toISOString().slice(0, 7).replace('-', '_')}` },
    ]);
    // The primary key (id, at) is there on every partition.
    await expect(ds.query(`INSERT INTO audit_events (id, type, actor, at) OVERRIDING SYSTEM VALUE VALUES ($1, 'dup', 'system', $2)`, [before[0].id, before[0].at])).rejects.toThrow(
      /duplicate key/,
    );
    // Every partition, the old table included, has the parent's indexes and no other (no
    // second (id, at) index paid for by every insert).
    const indexes: { part: string; n: number; attached: number }[] = await ds.query(`
      SELECT c.relname AS part, count(*)::int AS n, count(x.inhparent)::int AS attached
        FROM pg_inherits p JOIN pg_class c ON c.oid = p.inhrelid
        JOIN pg_index i ON i.indrelid = c.oid LEFT JOIN pg_inherits x ON x.inhrelid = i.indexrelid
       WHERE p.inhparent = 'audit_events'::regclass GROUP BY 1 ORDER BY 1`);
    expect(indexes).toHaveLength(4);
    for (const ix of indexes) expect(ix).toEqual({ part: ix.part, n: 4, attached: 4 });
  });

  it('creates partitions ahead and drops exactly those whose every row is past retention; a second process skips', async () => {
    // 20 months from now: the job has not run in between (the worst case it must handle).
    const now = new Date(addMonths(monthStart(new Date()), 20).getTime() + 14 * DAY + 3600_000);
    const cutoff = new Date(now.getTime() - 400 * DAY);
    const job = partitions(400);
    const [first, second] = await Promise.all([job.run(now), partitions(400).run(now)]);
    const done = first ?? second!;
    expect([first, second].filter((r) => r === null).length).toBeLessThanOrEqual(1);

    const after = await job.list();
    // Ahead: up to and including MONTHS_AHEAD months after now's month, none missing.
    expect(after[after.length - 1].to).toEqual(addMonths(monthStart(now), MONTHS_AHEAD + 1));
    for (let i = 1; i < after.length; i++) expect(after[i].from).toEqual(after[i - 1].to);
    // Kept: every partition that may hold a row younger than the cutoff; dropped: only the rest.
    expect(after.every((p) => p.to > cutoff)).toBe(true);
    expect(after[0].from!.getTime()).toBeLessThanOrEqual(cutoff.getTime());
    expect(after[0].to.getTime()).toBeGreaterThan(cutoff.getTime());
    const expectedDropped = [`audit_events_before_${addMonths(monthStart(new Date()), 1).toISOString().slice(0, 7).replace('-', '_')}`];
    for (let m = addMonths(monthStart(new Date()), 1); addMonths(m, 1) <= cutoff; m = addMonths(m, 1)) {
      expectedDropped.push(`audit_events_${m.toISOString().slice(0, 7).replace('-', '_')}`);
    }
    const second2 = [first, second].find((r) => r && r !== done);
    expect([...done.dropped, ...(second2?.dropped ?? [])].sort()).toEqual(expectedDropped.sort());

    // Rows: what was in the dropped partitions is gone, rows after the cutoff are all there.
    await insertAsBefore(ds, 'young', new Date(cutoff.getTime() + DAY));
    await insertAsBefore(ds, 'at-cutoff-month', monthStart(cutoff));
    expect(Number((await ds.query(`SELECT count(*) AS n FROM audit_events WHERE at < $1`, [monthStart(cutoff)]))[0].n)).toBe(0);
    expect(Number((await ds.query(`SELECT count(*) AS n FROM audit_events WHERE type IN ('young', 'at-cutoff-month')`))[0].n)).toBe(2);

    // Nothing more to do on the next run.
    expect(await job.run(now)).toEqual({ created: [], dropped: [] });
  });
});
