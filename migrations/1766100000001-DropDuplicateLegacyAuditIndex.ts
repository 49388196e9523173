import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The first partition of audit_events (the table that existed before partitioning,
 * `audit_events_before_YYYY_MM`) carries two identical unique indexes on (id, at): the one
 * PartitionAuditEvents built to stand for the primary key, and the one PostgreSQL built when
 * attaching it (a partition of a primary key must itself be a constraint's index; a plain
 * unique index does not qualify, so it was not used). The plain one backs nothing: every
 * insert into that partition (which holds the rest of the upgrade's month, and on a fresh
 * install the whole first month) paid for it, ~31 bytes a row. Dropped.
 *
 * The previous version still running does not name it anywhere. Down builds it again.
 */
export class DropDuplicateLegacyAuditIndex1766100000001 implements MigrationInterface {
  name = 'DropDuplicateLegacyAuditIndex1766100000001';

  public async up(q: QueryRunner): Promise<void> {
    // Indexes of audit_events' partitions that are not partitions of a parent index and are not
    // a constraint's: the unattached `<legacy>_pk`, and nothing else.
    const rows: { index: string }[] = await q.query(`
      SELECT ic.relname AS index
        FROM pg_inherits p
        JOIN pg_index i ON i.indrelid = p.inhrelid
        JOIN pg_class ic ON ic.oid = i.indexrelid
       WHERE p.inhparent = 'audit_events'::regclass
         AND ic.relname LIKE 'audit\\_events\\_before\\_%\\_pk'
         AND NOT EXISTS (SELECT 1 FROM pg_inherits x WHERE x.inhrelid = i.indexrelid)
         AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)`);
    for (const r of rows) await q.query(`DROP INDEX "${r.index}"`);
  }

  public async down(q: QueryRunner): Promise<void> {
    const rows: { name: string }[] = await q.query(`
      SELECT c.relname AS name FROM pg_inherits p JOIN pg_class c ON c.oid = p.inhrelid
       WHERE p.inhparent = 'audit_events'::regclass AND c.relname LIKE 'audit\\_events\\_before\\_%'`);
    for (const r of rows) await q.query(`CREATE UNIQUE INDEX IF NOT EXISTS "${r.name}_pk" ON "${r.name}" (id, at)`);
  }
}
