import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Attempts of any outcome per login counter (account or IP), in their own window: the failure
 * count is given back on a right password, so it cannot bound a client that signs in
 * ordinary accounts over and over.
 */
export class AddLoginAttemptCounts1764850000000 implements MigrationInterface {
  name = 'AddLoginAttemptCounts1764850000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE login_throttles
        ADD COLUMN attempts integer NOT NULL DEFAULT 0,
        ADD COLUMN attempts_window_started_at timestamptz NOT NULL DEFAULT now()`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE login_throttles DROP COLUMN attempts_window_started_at, DROP COLUMN attempts`);
  }
}
