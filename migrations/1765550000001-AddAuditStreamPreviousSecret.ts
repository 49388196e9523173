import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A stream's secret rotation: the previous secret (sealed) and until when deliveries are
 * signed with it too (Standard Webhooks: several space-separated signatures, a receiver
 * accepting any one it can verify). Nullable columns only: the previous version still running
 * ignores them (and signs with the new secret alone).
 */
export class AddAuditStreamPreviousSecret1765550000001 implements MigrationInterface {
  name = 'AddAuditStreamPreviousSecret1765550000001';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE audit_streams ADD COLUMN previous_secret_enc text, ADD COLUMN previous_secret_until timestamptz`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE audit_streams DROP COLUMN previous_secret_enc, DROP COLUMN previous_secret_until`);
  }
}
