import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Trusted issuers per tenant: an OIDC provider whose ID tokens (or JWT access tokens) a host
 * app may hand off instead of the HS256 assertion. (issuer, audience) is unique across
 * tenants: a token is routed to its tenant by those two claims alone.
 */
export class AddTrustedIssuers1765200000000 implements MigrationInterface {
  name = 'AddTrustedIssuers1765200000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE trusted_issuers (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL,
        issuer text NOT NULL,
        audience text NOT NULL,
        algorithms text[] NOT NULL DEFAULT '{RS256}',
        claim_email text NOT NULL DEFAULT 'email',
        claim_first_name text NOT NULL DEFAULT 'given_name',
        claim_last_name text NOT NULL DEFAULT 'family_name',
        claim_groups text,
        max_token_age_seconds integer NOT NULL DEFAULT 300,
        jit_provisioning boolean NOT NULL DEFAULT false,
        sync_groups boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT trusted_issuers_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE,
        CONSTRAINT uq_trusted_issuers_issuer_audience UNIQUE (issuer, audience)
      )`);
    await q.query(`CREATE INDEX ix_trusted_issuers_tenant ON trusted_issuers (tenant_id)`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE trusted_issuers`);
  }
}
