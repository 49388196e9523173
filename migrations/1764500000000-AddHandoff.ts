import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Host-app hand-off (issue 10): per-tenant switches, sealed secrets (two during a rotation),
 * and the consumed assertions whose (tenant, jti) primary key makes each one single-use.
 */
export class AddHandoff1764500000000 implements MigrationInterface {
  name = 'AddHandoff1764500000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE handoff_settings (
        tenant_id uuid PRIMARY KEY,
        jit_provisioning boolean NOT NULL DEFAULT false,
        sync_groups boolean NOT NULL DEFAULT false,
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT handoff_settings_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE
      )`);
    await q.query(`
      CREATE TABLE handoff_secrets (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL,
        secret_enc text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT handoff_secrets_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX ix_handoff_secrets_tenant ON handoff_secrets (tenant_id, created_at)`);
    await q.query(`
      CREATE TABLE handoff_consumed_assertions (
        tenant_id uuid NOT NULL,
        jti varchar(200) NOT NULL,
        exp bigint NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, jti),
        CONSTRAINT handoff_consumed_assertions_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX ix_handoff_consumed_assertions_exp ON handoff_consumed_assertions (exp)`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE handoff_consumed_assertions`);
    await q.query(`DROP TABLE handoff_secrets`);
    await q.query(`DROP TABLE handoff_settings`);
  }
}
