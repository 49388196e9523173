import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A tenant's own OpenID Connect provider for its people (upstream sign-in): one per tenant, the
 * client secret sealed.
 */
export class AddUpstreamOidc1765200000001 implements MigrationInterface {
  name = 'AddUpstreamOidc1765200000001';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE upstream_oidc_providers (
        tenant_id uuid PRIMARY KEY,
        issuer text NOT NULL,
        client_id text NOT NULL,
        client_secret_enc text NOT NULL,
        claim_groups text,
        jit_provisioning boolean NOT NULL DEFAULT false,
        sync_groups boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT upstream_oidc_providers_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE
      )`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE upstream_oidc_providers`);
  }
}
