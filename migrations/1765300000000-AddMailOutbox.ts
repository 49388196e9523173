import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Outgoing mail: written in the transaction of what caused it (so a rolled-back change sends
 * nothing), sent by the mail worker after the commit, retried with backoff. Without SMTP_URL
 * outside production the rows stay here ('held') for the console to show. The bodies carry
 * single-use links, so they are sealed (SECRETS_KEY) like every other secret at rest.
 */
export class AddMailOutbox1765300000000 implements MigrationInterface {
  name = 'AddMailOutbox1765300000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE mail_outbox (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid REFERENCES tenants(id) ON DELETE CASCADE,
        purpose varchar(40) NOT NULL,
        to_address varchar(254) NOT NULL,
        subject varchar(300) NOT NULL,
        body_enc text NOT NULL,
        status varchar(10) NOT NULL DEFAULT 'pending',
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        last_error varchar(500),
        created_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz,
        CONSTRAINT ck_mail_outbox_status CHECK (status IN ('pending', 'sent', 'failed', 'held'))
      )`);
    await q.query(`CREATE INDEX ix_mail_outbox_due ON mail_outbox (next_attempt_at) WHERE status = 'pending'`);
    await q.query(`CREATE INDEX ix_mail_outbox_created ON mail_outbox (created_at DESC)`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE mail_outbox`);
  }
}
