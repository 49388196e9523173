import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One row holding a known value sealed under SECRETS_KEY, written at the first start: each
 * start opens it, so a changed key stops the start with a message naming SECRETS_KEY instead
 * of surfacing as a 500 at the first SSO (src/crypto/secrets-check.ts).
 */
export class AddSecretsCheck1764300000000 implements MigrationInterface {
  name = 'AddSecretsCheck1764300000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE secrets_check (
        id smallint PRIMARY KEY,
        sealed text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT ck_secrets_check_single CHECK (id = 1)
      )`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE secrets_check`);
  }
}
