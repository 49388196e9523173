import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Audit streams: destinations (a URL per tenant, or global) that receive audit events as
 * Standard Webhooks, and the outbox of deliveries. A statement-level trigger on audit_events
 * writes the outbox rows in the statement (so the transaction) that writes the events: an
 * event is never committed without its deliveries, nor a delivery without its event, and every
 * writer (the SSO hot path's one statement, AuditService, the previous version still running)
 * is covered without a change. One trigger call per statement (a transition table), not per
 * row: the batched hot path pays one indexed look at a small table per batch.
 */
export class AddAuditStreams1765510000000 implements MigrationInterface {
  name = 'AddAuditStreams1765510000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE audit_streams (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid,
        name varchar(100) NOT NULL,
        url varchar(2048) NOT NULL,
        event_types varchar(64)[] NOT NULL DEFAULT '{}',
        secret_enc text NOT NULL,
        enabled boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_success_at timestamptz,
        last_failure_at timestamptz,
        last_error varchar(500),
        CONSTRAINT audit_streams_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX ix_audit_streams_tenant ON audit_streams (tenant_id)`);
    await q.query(`
      CREATE TABLE audit_stream_deliveries (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        stream_id uuid NOT NULL,
        event_id bigint NOT NULL,
        event_at timestamptz NOT NULL,
        status varchar(16) NOT NULL DEFAULT 'pending',
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        created_at timestamptz NOT NULL DEFAULT now(),
        delivered_at timestamptz,
        last_error varchar(500),
        CONSTRAINT ck_audit_stream_deliveries_status CHECK (status IN ('pending', 'delivered', 'failed')),
        CONSTRAINT audit_stream_deliveries_stream_id_fkey FOREIGN KEY (stream_id) REFERENCES audit_streams(id) ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX ix_audit_stream_deliveries_stream ON audit_stream_deliveries (stream_id, status, id)`);
    await q.query(`
      CREATE FUNCTION audit_stream_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM audit_streams WHERE enabled) THEN
          INSERT INTO audit_stream_deliveries (stream_id, event_id, event_at)
          SELECT s.id, e.id, e.at
            FROM new_events e
            JOIN audit_streams s
              ON s.enabled
             AND (s.tenant_id IS NULL OR s.tenant_id = e.tenant_id)
             AND (cardinality(s.event_types) = 0 OR e.type = ANY (s.event_types))
           ORDER BY e.id;
        END IF;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER audit_stream_outbox AFTER INSERT ON audit_events
        REFERENCING NEW TABLE AS new_events FOR EACH STATEMENT EXECUTE FUNCTION audit_stream_outbox()`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER IF EXISTS audit_stream_outbox ON audit_events`);
    await q.query(`DROP FUNCTION IF EXISTS audit_stream_outbox()`);
    await q.query(`DROP TABLE IF EXISTS audit_stream_deliveries`);
    await q.query(`DROP TABLE IF EXISTS audit_streams`);
  }
}
