import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Products are plugins (sso/targets/): the kind is text checked by the application, so a new
 * product needs no migration; and a target's secrets are one map of name -> sealed value, so
 * a product can add a secret without one either. The sealed values move as they are: their
 * sealing context is `target:<id>:<snake_case name>`, which is what the two columns used
 * (`secret`, `embedding_secret`), so nothing needs SECRETS_KEY to migrate.
 */
export class TargetSecretsMapAndKindAsText1764400000000 implements MigrationInterface {
  name = 'TargetSecretsMapAndKindAsText1764400000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE targets DROP CONSTRAINT ck_targets_kind`);
    await q.query(`ALTER TABLE targets ADD COLUMN secrets jsonb NOT NULL DEFAULT '{}'`);
    await q.query(
      `UPDATE targets SET secrets = jsonb_strip_nulls(jsonb_build_object('secret', secret_enc, 'embeddingSecret', embedding_secret_enc))`,
    );
    await q.query(`ALTER TABLE targets DROP COLUMN secret_enc, DROP COLUMN embedding_secret_enc`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE targets ADD COLUMN secret_enc text, ADD COLUMN embedding_secret_enc text`);
    await q.query(`UPDATE targets SET secret_enc = secrets->>'secret', embedding_secret_enc = secrets->>'embeddingSecret'`);
    await q.query(`ALTER TABLE targets DROP COLUMN secrets`);
    await q.query(`DELETE FROM targets WHERE kind NOT IN ('metabase', 'sisense', 'databricks')`);
    await q.query(`ALTER TABLE targets ADD CONSTRAINT ck_targets_kind CHECK (kind IN ('metabase', 'sisense', 'databricks'))`);
  }
}
