import type { Options } from '@node-rs/argon2';
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { SecretBox } from '../src/crypto/secret-box';
import { randomToken, sha256Hex } from '../src/crypto/tokens';
import { targetSecretContext } from '../src/catalog/target-secrets';
import { hashPassword } from '../src/users/passwords.service';
import type { TestApp } from './setup/app';
import type { TestModule } from './setup/module';

/** Factories write straight to the database: each test builds exactly what it needs. */
const uniq = () => randomBytes(4).toString('hex');

export async function makeTenant(ds: DataSource, p: { slug?: string; name?: string; attributes?: object; disabled?: boolean } = {}) {
  const slug = p.slug ?? `t-${uniq()}`;
  const [row] = await ds.query(
    `INSERT INTO tenants (slug, name, attributes, disabled) VALUES ($1, $2, $3, $4) RETURNING *`,
    [slug, p.name ?? `Tenant ${slug}`, JSON.stringify(p.attributes ?? {}), p.disabled ?? false],
  );
  return row as { id: string; slug: string; name: string };
}

/**
 * argon2id with the smallest parameters it allows (m=8 KiB, t=1, p=1): a factory's hash
 * takes ~0.1 ms instead of a production hash's tens of milliseconds (ARGON2_OPTIONS). Logins
 * still verify for real: argon2 verify reads the parameters from the stored PHC string.
 * Hashes the admin API makes (user creation, password change) keep the production ones.
 */
export const FACTORY_ARGON2_OPTIONS: Options = { algorithm: 2, memoryCost: 8, timeCost: 1, parallelism: 1 };

/** Passwords are hashed with FACTORY_ARGON2_OPTIONS: factories are not what is under test. */
export async function makeUser(
  ds: DataSource,
  tenantId: string,
  p: { email?: string; password?: string; firstName?: string; lastName?: string; attributes?: object; disabled?: boolean; groups?: string[] } = {},
) {
  const email = (p.email ?? `user-${uniq()}@example.com`).toLowerCase();
  const passwordHash = p.password ? await hashPassword(p.password, FACTORY_ARGON2_OPTIONS) : null;
  const [row] = await ds.query(
    `INSERT INTO users (tenant_id, email, first_name, last_name, password_hash, attributes, disabled)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, tenant_id, email, first_name, last_name`,
    [tenantId, email, p.firstName ?? 'Ada', p.lastName ?? 'Lovelace', passwordHash, JSON.stringify(p.attributes ?? {}), p.disabled ?? false],
  );
  for (const g of p.groups ?? []) {
    const group = await ensureGroup(ds, tenantId, g);
    await ds.query(`INSERT INTO group_members (group_id, user_id, tenant_id) VALUES ($1, $2, $3)`, [group.id, row.id, tenantId]);
  }
  return row as { id: string; tenant_id: string; email: string };
}

export async function ensureGroup(ds: DataSource, tenantId: string, name: string) {
  const [row] = await ds.query(
    `INSERT INTO groups (tenant_id, name) VALUES ($1, $2)
     ON CONFLICT (tenant_id, name) DO UPDATE SET name = EXCLUDED.name RETURNING id, name`,
    [tenantId, name],
  );
  return row as { id: string; name: string };
}

export async function makeTarget(
  t: TestApp | TestModule,
  p: { kind: string; baseUrl: string; secret: string; embeddingSecret?: string; slug?: string; settings?: object },
) {
  const box = t.app.get(SecretBox);
  const slug = p.slug ?? `${p.kind}-${uniq()}`;
  const [row] = await t.ds.query(
    `INSERT INTO targets (slug, kind, name, base_url, settings) VALUES ($1, $2, $3, $4, $5) RETURNING id, slug`,
    [slug, p.kind, slug, p.baseUrl, JSON.stringify(p.settings ?? {})],
  );
  const secrets: Record<string, string> = { secret: box.seal(p.secret, targetSecretContext(row.id, 'secret')) };
  if (p.embeddingSecret) secrets.embeddingSecret = box.seal(p.embeddingSecret, targetSecretContext(row.id, 'embeddingSecret'));
  await t.ds.query(`UPDATE targets SET secrets = $2 WHERE id = $1`, [row.id, JSON.stringify(secrets)]);
  return row as { id: string; slug: string };
}

export async function grantAccess(
  ds: DataSource,
  tenantId: string,
  targetId: string,
  p: { groupMappings?: Record<string, string[]>; attributes?: object; settings?: object } = {},
) {
  const [row] = await ds.query(
    `INSERT INTO tenant_target_access (tenant_id, target_id, group_mappings, attributes, settings)
     VALUES ($1, $2, $3, $4, $5) RETURNING id`,
    [tenantId, targetId, JSON.stringify(p.groupMappings ?? {}), JSON.stringify(p.attributes ?? {}), JSON.stringify(p.settings ?? {})],
  );
  return row as { id: string };
}

/** An API key row; returns the plaintext key to send as Bearer. */
export async function makeApiKey(ds: DataSource, tenantId: string | null = null, name = 'test key') {
  const key = `eidp_${randomToken(32)}`;
  await ds.query(`INSERT INTO api_keys (name, prefix, key_hash, tenant_id) VALUES ($1, $2, $3, $4)`, [
    name,
    key.slice(0, 12),
    sha256Hex(key),
    tenantId,
  ]);
  return key;
}
