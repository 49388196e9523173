import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Wakes the delivery workers when deliveries are queued: a statement-level trigger on
 * audit_stream_deliveries sends NOTIFY audit_stream_deliveries (delivered at commit, never for a
 * rolled-back transaction; several in one transaction are folded into one by Postgres). Covers
 * every writer: the outbox trigger on audit_events and a replay alike. Only additive: a
 * previous version still running keeps polling and ignores the notifications.
 */
export class NotifyAuditStreamDeliveries1765550000000 implements MigrationInterface {
  name = 'NotifyAuditStreamDeliveries1765550000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION audit_stream_deliveries_notify() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM new_deliveries) THEN
          PERFORM pg_notify('audit_stream_deliveries', '');
        END IF;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER audit_stream_deliveries_notify AFTER INSERT ON audit_stream_deliveries
        REFERENCING NEW TABLE AS new_deliveries FOR EACH STATEMENT EXECUTE FUNCTION audit_stream_deliveries_notify()`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER IF EXISTS audit_stream_deliveries_notify ON audit_stream_deliveries`);
    await q.query(`DROP FUNCTION IF EXISTS audit_stream_deliveries_notify()`);
  }
}
