import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * audit_events becomes a table partitioned by month on `at` (PostgreSQL declarative
 * partitioning, https://www.postgresql.org/docs/current/ddl-partitioning.html), so retention
 * drops whole partitions instead of deleting rows.
 *
 * The existing table is not copied: it is attached, as it is, as the first partition, holding
 * everything before the start of next month (UTC); monthly partitions follow. Attaching costs
 * one scan of the old table (the CHECK constraint that proves its rows fit, so ATTACH itself
 * does not scan again) and one index build ((id, at), for the primary key), under the lock
 * this migration holds: writers wait that long, nothing fails. A partitioned table's primary
 * key must contain the partition key, hence (id, at); ids stay unique because every partition
 * draws them from the parent's one identity sequence, restarted past the old table's highest.
 *
 * The previous version keeps working on the new table: it inserts through the parent (the
 * same columns, defaults and identity), and reads by id and at, as before.
 */
export class PartitionAuditEvents1765500000000 implements MigrationInterface {
  name = 'PartitionAuditEvents1765500000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`LOCK TABLE audit_events IN ACCESS EXCLUSIVE MODE`);
    const [{ bound, next_id }] = await q.query(`
      SELECT to_char(date_trunc('month', now() AT TIME ZONE 'UTC') + interval '1 month', 'YYYY-MM-DD') AS bound,
             COALESCE((SELECT max(id) FROM audit_events), 0) + 1 AS next_id`);
    const legacy = `audit_events_before_${bound.slice(0, 7).replace('-', '_')}`;
    await q.query(`ALTER TABLE audit_events RENAME TO ${legacy}`);
    for (const ix of ['tenant_at', 'type_at', 'at']) await q.query(`ALTER INDEX ix_audit_${ix} RENAME TO ${legacy}_${ix}`);
    await q.query(`ALTER TABLE ${legacy} ALTER COLUMN id DROP IDENTITY`);
    await q.query(`
      CREATE TABLE audit_events (
        id bigint GENERATED ALWAYS AS IDENTITY (START WITH ${Number(next_id)}),
        type varchar(64) NOT NULL,
        actor varchar(200) NOT NULL,
        tenant_id uuid,
        ip varchar(64),
        request_id varchar(64),
        at timestamptz NOT NULL DEFAULT now(),
        details jsonb NOT NULL DEFAULT '{}',
        CONSTRAINT pk_audit_events PRIMARY KEY (id, at)
      ) PARTITION BY RANGE (at)`);
    await q.query(`CREATE INDEX ix_audit_tenant_at ON audit_events (tenant_id, at)`);
    await q.query(`CREATE INDEX ix_audit_type_at ON audit_events (type, at)`);
    await q.query(`CREATE INDEX ix_audit_at ON audit_events (at)`);

    await q.query(`ALTER TABLE ${legacy} ADD CONSTRAINT ${legacy}_range CHECK (at < '${bound} 00:00:00+00')`);
    await q.query(`CREATE UNIQUE INDEX ${legacy}_pk ON ${legacy} (id, at)`);
    await q.query(`ALTER TABLE ${legacy} DROP CONSTRAINT audit_events_pkey`);
    // The existing (tenant_id, at), (type, at) and (at) indexes match the parent's and are
    // attached as they are, not built again.
    await q.query(`ALTER TABLE audit_events ATTACH PARTITION ${legacy} FOR VALUES FROM (MINVALUE) TO ('${bound} 00:00:00+00')`);
    await q.query(`ALTER TABLE ${legacy} DROP CONSTRAINT ${legacy}_range`);

    // Three months ahead; the service's partition job keeps that lead (src/audit/audit-partitions.ts).
    for (let i = 0; i < 3; i++) {
      const [{ from, to }] = await q.query(
        `SELECT to_char($1::date + make_interval(months => $2::int), 'YYYY-MM-DD') AS from,
                to_char($1::date + make_interval(months => $2::int + 1), 'YYYY-MM-DD') AS to`,
        [bound, i],
      );
      await q.query(`CREATE TABLE audit_events_${from.slice(0, 7).replace('-', '_')} PARTITION OF audit_events FOR VALUES FROM ('${from} 00:00:00+00') TO ('${to} 00:00:00+00')`);
    }
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`LOCK TABLE audit_events IN ACCESS EXCLUSIVE MODE`);
    await q.query(`ALTER TABLE audit_events RENAME TO audit_events_partitioned`);
    for (const ix of ['tenant_at', 'type_at', 'at']) await q.query(`ALTER INDEX ix_audit_${ix} RENAME TO ix_audit_partitioned_${ix}`);
    await q.query(`
      CREATE TABLE audit_events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        type varchar(64) NOT NULL,
        actor varchar(200) NOT NULL,
        tenant_id uuid,
        ip varchar(64),
        request_id varchar(64),
        at timestamptz NOT NULL DEFAULT now(),
        details jsonb NOT NULL DEFAULT '{}'
      )`);
    await q.query(`INSERT INTO audit_events OVERRIDING SYSTEM VALUE SELECT id, type, actor, tenant_id, ip, request_id, at, details FROM audit_events_partitioned`);
    await q.query(`SELECT setval(pg_get_serial_sequence('audit_events', 'id'), COALESCE((SELECT max(id) FROM audit_events), 0) + 1, false)`);
    await q.query(`DROP TABLE audit_events_partitioned`);
    await q.query(`CREATE INDEX ix_audit_tenant_at ON audit_events (tenant_id, at)`);
    await q.query(`CREATE INDEX ix_audit_type_at ON audit_events (type, at)`);
    await q.query(`CREATE INDEX ix_audit_at ON audit_events (at)`);
  }
}
