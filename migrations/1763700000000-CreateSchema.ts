import { MigrationInterface, QueryRunner } from 'typeorm';

/** The foundation schema: tenants, users, groups, targets, access, keys, audit, sessions, tokens. */
export class CreateSchema1763700000000 implements MigrationInterface {
  name = 'CreateSchema1763700000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE EXTENSION IF NOT EXISTS pgcrypto`);
    await q.query(`
      CREATE TABLE tenants (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        slug varchar(63) NOT NULL,
        name varchar(200) NOT NULL,
        attributes jsonb NOT NULL DEFAULT '{}',
        disabled boolean NOT NULL DEFAULT false,
        logout_landing_url text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_tenants_slug UNIQUE (slug),
        CONSTRAINT ck_tenants_slug CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$')
      )`);
    await q.query(`
      CREATE TABLE users (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        email varchar(254) NOT NULL,
        first_name varchar(100) NOT NULL DEFAULT '',
        last_name varchar(100) NOT NULL DEFAULT '',
        password_hash text,
        attributes jsonb NOT NULL DEFAULT '{}',
        disabled boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT ck_users_email_lower CHECK (email = lower(email))
      )`);
    await q.query(`CREATE UNIQUE INDEX uq_users_tenant_email ON users (tenant_id, email)`);
    await q.query(`
      CREATE TABLE groups (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        name varchar(100) NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX uq_groups_tenant_name ON groups (tenant_id, name)`);
    await q.query(`
      CREATE TABLE group_members (
        group_id uuid NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (group_id, user_id)
      )`);
    await q.query(`CREATE INDEX ix_group_members_user ON group_members (user_id)`);
    await q.query(`
      CREATE TABLE targets (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        slug varchar(63) NOT NULL,
        kind varchar(20) NOT NULL,
        name varchar(200) NOT NULL DEFAULT '',
        base_url text NOT NULL,
        secret_enc text,
        embedding_secret_enc text,
        settings jsonb NOT NULL DEFAULT '{}',
        disabled boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT uq_targets_slug UNIQUE (slug),
        CONSTRAINT ck_targets_slug CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
        CONSTRAINT ck_targets_kind CHECK (kind IN ('metabase', 'sisense', 'databricks'))
      )`);
    await q.query(`
      CREATE TABLE tenant_target_access (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        target_id uuid NOT NULL REFERENCES targets(id) ON DELETE CASCADE,
        group_mappings jsonb NOT NULL DEFAULT '{}',
        attributes jsonb NOT NULL DEFAULT '{}',
        settings jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX uq_access_tenant_target ON tenant_target_access (tenant_id, target_id)`);
    await q.query(`CREATE INDEX ix_access_target ON tenant_target_access (target_id)`);
    await q.query(`
      CREATE TABLE issued_tokens (
        jti uuid PRIMARY KEY,
        target_id uuid NOT NULL,
        tenant_id uuid NOT NULL,
        user_id uuid NOT NULL,
        session_id varchar(64),
        iat bigint NOT NULL,
        exp bigint NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX ix_issued_tokens_exp ON issued_tokens (exp)`);
    await q.query(`
      CREATE TABLE iat_sequences (
        scope varchar(600) NOT NULL,
        subject varchar(254) NOT NULL,
        last_iat bigint NOT NULL,
        PRIMARY KEY (scope, subject)
      )`);
    await q.query(`
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name varchar(100) NOT NULL,
        prefix varchar(16) NOT NULL,
        key_hash char(64) NOT NULL,
        tenant_id uuid REFERENCES tenants(id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz,
        revoked_at timestamptz,
        CONSTRAINT uq_api_keys_hash UNIQUE (key_hash)
      )`);
    await q.query(`
      CREATE TABLE sessions (
        id char(64) PRIMARY KEY,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        tenant_id uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_seen_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        ip varchar(64),
        user_agent varchar(512),
        revoked_at timestamptz,
        targets_used uuid[] NOT NULL DEFAULT '{}'
      )`);
    await q.query(`CREATE INDEX ix_sessions_user ON sessions (user_id)`);
    await q.query(`CREATE INDEX ix_sessions_tenant ON sessions (tenant_id)`);
    await q.query(`
      CREATE TABLE login_throttles (
        key varchar(400) PRIMARY KEY,
        failures integer NOT NULL DEFAULT 0,
        window_started_at timestamptz NOT NULL,
        locked_until timestamptz
      )`);
    await q.query(`
      CREATE TABLE audit_events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        type varchar(64) NOT NULL,
        actor varchar(200) NOT NULL,
        tenant_id uuid,
        ip varchar(64),
        request_id varchar(64),
        at timestamptz NOT NULL DEFAULT now(),
        details jsonb NOT NULL DEFAULT '{}'
      )`);
    await q.query(`CREATE INDEX ix_audit_tenant_at ON audit_events (tenant_id, at)`);
    await q.query(`CREATE INDEX ix_audit_type_at ON audit_events (type, at)`);
    await q.query(`CREATE INDEX ix_audit_at ON audit_events (at)`);
  }

  public async down(q: QueryRunner): Promise<void> {
    for (const t of [
      'audit_events',
      'login_throttles',
      'sessions',
      'api_keys',
      'iat_sequences',
      'issued_tokens',
      'tenant_target_access',
      'targets',
      'group_members',
      'groups',
      'users',
      'tenants',
    ]) {
      await q.query(`DROP TABLE IF EXISTS ${t}`);
    }
  }
}
