import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Second factors: TOTP (sealed secret, the last accepted time step), passkeys / security keys,
 * recovery codes (hashed), sign-ins waiting for their second step, WebAuthn challenges, and
 * the tenant's policy. Additive only: a release without MFA keeps running beside it (it never
 * reads these tables, and `mfa_policy` has a default).
 */
export class AddMfa1765350000000 implements MigrationInterface {
  name = 'AddMfa1765350000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE tenants ADD COLUMN mfa_policy varchar(16) NOT NULL DEFAULT 'off'`);
    await q.query(`ALTER TABLE tenants ADD CONSTRAINT ck_tenants_mfa_policy CHECK (mfa_policy IN ('off', 'optional', 'required'))`);
    await q.query(`
      CREATE TABLE mfa_totp (
        user_id uuid NOT NULL,
        tenant_id uuid NOT NULL,
        secret_enc text NOT NULL,
        confirmed_at timestamptz,
        last_step bigint,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "PK_mfa_totp" PRIMARY KEY (user_id),
        CONSTRAINT mfa_totp_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE,
        CONSTRAINT mfa_totp_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE)`);
    await q.query(`CREATE INDEX ix_mfa_totp_tenant ON mfa_totp (tenant_id)`);
    await q.query(`
      CREATE TABLE mfa_webauthn_credentials (
        id varchar(1400) NOT NULL,
        user_id uuid NOT NULL,
        tenant_id uuid NOT NULL,
        public_key bytea NOT NULL,
        counter bigint NOT NULL DEFAULT 0,
        transports text[] NOT NULL DEFAULT '{}',
        name varchar(100) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz,
        CONSTRAINT "PK_mfa_webauthn_credentials" PRIMARY KEY (id),
        CONSTRAINT mfa_webauthn_credentials_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE,
        CONSTRAINT mfa_webauthn_credentials_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE)`);
    await q.query(`CREATE INDEX ix_mfa_webauthn_credentials_user ON mfa_webauthn_credentials (user_id)`);
    await q.query(`CREATE INDEX ix_mfa_webauthn_credentials_tenant ON mfa_webauthn_credentials (tenant_id)`);
    await q.query(`
      CREATE TABLE mfa_recovery_codes (
        user_id uuid NOT NULL,
        code_hash char(64) NOT NULL,
        tenant_id uuid NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        used_at timestamptz,
        CONSTRAINT "PK_mfa_recovery_codes" PRIMARY KEY (user_id, code_hash),
        CONSTRAINT mfa_recovery_codes_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE,
        CONSTRAINT mfa_recovery_codes_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE)`);
    await q.query(`CREATE INDEX ix_mfa_recovery_codes_tenant ON mfa_recovery_codes (tenant_id)`);
    await q.query(`
      CREATE TABLE mfa_pending_logins (
        id char(64) NOT NULL,
        user_id uuid NOT NULL,
        tenant_id uuid NOT NULL,
        account_key varchar(400) NOT NULL,
        purpose varchar(16) NOT NULL,
        next text,
        previous_session_id char(64),
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        CONSTRAINT "PK_mfa_pending_logins" PRIMARY KEY (id),
        CONSTRAINT ck_mfa_pending_logins_purpose CHECK (purpose IN ('verify', 'enrol')),
        CONSTRAINT mfa_pending_logins_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE,
        CONSTRAINT mfa_pending_logins_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE)`);
    await q.query(`CREATE INDEX ix_mfa_pending_logins_user ON mfa_pending_logins (user_id)`);
    await q.query(`CREATE INDEX ix_mfa_pending_logins_expires ON mfa_pending_logins (expires_at)`);
    await q.query(`
      CREATE TABLE mfa_webauthn_challenges (
        challenge varchar(128) NOT NULL,
        user_id uuid NOT NULL,
        purpose varchar(16) NOT NULL,
        expires_at timestamptz NOT NULL,
        CONSTRAINT "PK_mfa_webauthn_challenges" PRIMARY KEY (challenge),
        CONSTRAINT ck_mfa_webauthn_challenges_purpose CHECK (purpose IN ('register', 'authenticate')),
        CONSTRAINT mfa_webauthn_challenges_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE)`);
    await q.query(`CREATE INDEX ix_mfa_webauthn_challenges_expires ON mfa_webauthn_challenges (expires_at)`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE mfa_webauthn_challenges`);
    await q.query(`DROP TABLE mfa_pending_logins`);
    await q.query(`DROP TABLE mfa_recovery_codes`);
    await q.query(`DROP TABLE mfa_webauthn_credentials`);
    await q.query(`DROP TABLE mfa_totp`);
    await q.query(`ALTER TABLE tenants DROP CONSTRAINT ck_tenants_mfa_policy`);
    await q.query(`ALTER TABLE tenants DROP COLUMN mfa_policy`);
  }
}
