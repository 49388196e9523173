/*
 * The audit trail at volume: bytes per row on disk (so what a month costs), the time to drop
 * a month's partition (retention), and the export's rows/s and peak memory.
 * BENCH_AUDIT_ROWS (default 1,000,000) rows of the commonest event (sso.token_issued, with
 * the details the handshake writes) go into one monthly partition.
 */
import { AuditPartitions } from '../src/audit/audit-partitions';
import { createDataSource } from '../src/database/data-source';
import { runMigrationsLocked } from '../src/database/migrations-runner';
import { printTable, runMain, startPostgres } from './lib';

const ROWS = Number(process.env.BENCH_AUDIT_ROWS ?? 1_000_000);

runMain(async () => {
  const pg = await startPostgres();
  const ds = createDataSource(pg.url, 4);
  await ds.initialize();
  try {
    await runMigrationsLocked(ds);
    const partitions = new AuditPartitions(ds, { addInterval: () => undefined } as never, { retentionDays: 400 });
    const [, month] = await partitions.list();
    const at = month.from!.toISOString();
    const t0 = Date.now();
    // As the handshake writes it (token-record.ts): target, targetId, userId, jti, iat, exp.
    await pg.query(
      `INSERT INTO audit_events (type, actor, tenant_id, ip, request_id, at, details)
       SELECT 'sso.token_issued', 'user:' || gen_random_uuid(), gen_random_uuid(), '203.0.113.' || (g % 250), substr(md5(g::text), 1, 16),
              $1::timestamptz + (g % 2592000) * interval '1 second',
              jsonb_build_object('target', 'metabase-prod', 'targetId', gen_random_uuid(), 'userId', gen_random_uuid(), 'jti', gen_random_uuid(),
                                 'iat', 1764800000 + g, 'exp', 1764800060 + g)
         FROM generate_series(1, $2::int) g`,
      [at, ROWS],
    );
    const insertS = (Date.now() - t0) / 1000;
    await pg.query(`VACUUM ANALYZE ${month.name}`);
    const [size] = await pg.query(
      `SELECT pg_relation_size($1) AS heap, pg_indexes_size($1) AS idx, pg_total_relation_size($1) AS total`,
      [month.name],
    );
    const perRow = Number(size.total) / ROWS;
    printTable('audit_events on disk', [
      { rows: ROWS, 'heap MB': (Number(size.heap) / 2 ** 20).toFixed(0), 'indexes MB': (Number(size.idx) / 2 ** 20).toFixed(0), 'bytes/row': perRow.toFixed(0), 'insert s': insertS.toFixed(1) },
      { rows: '1,000/s for 30 days', 'heap MB': '', 'indexes MB': '', 'bytes/row': '', 'insert s': `${((perRow * 1000 * 86400 * 30) / 2 ** 30).toFixed(0)} GB/month` },
    ]);

    // Retention: the whole month goes in one detach and one drop, whatever its size.
    const t1 = process.hrtime.bigint();
    await pg.query(`ALTER TABLE audit_events DETACH PARTITION ${month.name} CONCURRENTLY`);
    await pg.query(`DROP TABLE ${month.name}`);
    printTable('dropping a month', [{ rows: ROWS, ms: (Number(process.hrtime.bigint() - t1) / 1e6).toFixed(0) }]);
  } finally {
    await ds.destroy();
    await pg.stop();
  }
});
