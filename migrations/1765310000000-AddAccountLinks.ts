import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Single-use links mailed to people: invitations (set a first password, 72 h) and password
 * resets (30 min). Only the SHA-256 of the link's random token is stored, so a copy of the
 * table opens no account; a link is spent by one conditional UPDATE (used_at), so two clicks
 * cannot both use it.
 */
export class AddAccountLinks1765310000000 implements MigrationInterface {
  name = 'AddAccountLinks1765310000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE account_links (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        purpose varchar(20) NOT NULL,
        token_hash char(64) NOT NULL,
        expires_at timestamptz NOT NULL,
        used_at timestamptz,
        revoked_at timestamptz,
        created_by varchar(100) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT ck_account_links_purpose CHECK (purpose IN ('invitation', 'password_reset'))
      )`);
    await q.query(`CREATE UNIQUE INDEX uq_account_links_token_hash ON account_links (token_hash)`);
    await q.query(`CREATE INDEX ix_account_links_tenant_user ON account_links (tenant_id, user_id)`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE account_links`);
  }
}
