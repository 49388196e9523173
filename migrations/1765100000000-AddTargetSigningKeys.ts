import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Key pairs per target for products that verify our tokens with a public key (JWKS / PEM).
 * A new table only: the previous version never reads it.
 */
export class AddTargetSigningKeys1765100000000 implements MigrationInterface {
  name = 'AddTargetSigningKeys1765100000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE target_signing_keys (
        kid varchar(64) PRIMARY KEY,
        target_id uuid NOT NULL,
        alg varchar(10) NOT NULL,
        public_jwk jsonb NOT NULL,
        private_key_enc text NOT NULL,
        created_at timestamptz NOT NULL,
        signs_from timestamptz NOT NULL,
        superseded_at timestamptz,
        unpublish_at timestamptz,
        CONSTRAINT target_signing_keys_target_id_fkey FOREIGN KEY (target_id) REFERENCES targets(id) ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX ix_target_signing_keys_target ON target_signing_keys (target_id, created_at)`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE target_signing_keys`);
  }
}
