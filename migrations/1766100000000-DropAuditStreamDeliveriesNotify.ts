import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * No more NOTIFY when deliveries are queued: a transaction that notifies takes, at commit, a
 * lock every other notifying transaction of the cluster waits for (PostgreSQL serialises them
 * on the notify queue: src/backend/commands/async.c, PreCommit_Notify), so with a stream
 * configured every SSO handshake's commit queued behind the others'. The delivery worker is
 * now woken in-process by the writer after its commit, and polls every second for events
 * other processes wrote.
 *
 * The previous version still running is not broken: it LISTENs in vain and finds the
 * deliveries with its own fallback poll (every 5 s), only later.
 */
export class DropAuditStreamDeliveriesNotify1766100000000 implements MigrationInterface {
  name = 'DropAuditStreamDeliveriesNotify1766100000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER IF EXISTS audit_stream_deliveries_notify ON audit_stream_deliveries`);
    await q.query(`DROP FUNCTION IF EXISTS audit_stream_deliveries_notify()`);
  }

  public async down(q: QueryRunner): Promise<void> {
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
}
