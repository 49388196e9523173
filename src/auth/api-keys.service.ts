import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { DataSource, FindOptionsWhere, In, IsNull, Repository } from 'typeorm';
import { isUuid } from '../common/identifiers';
import { AuditService } from '../audit/audit.service';
import { badRequest, notFound, unauthorized } from '../common/errors';
import { InjectConfig } from '../config/config.module';
import { Config, REVOKE_BOOTSTRAP_KEY } from '../config/configuration';
import { randomToken, sha256Hex } from '../crypto/tokens';
import { TenantsService } from '../tenants/tenants.service';
import { tenantDisabled } from '../tenants/tenants.sql';
import { ApiKey } from './api-key.entity';
import { AdminPrincipal } from './auth.types';
import { RequestMeta } from '../common/request-meta';
import { AuthError } from './auth.errors';

const BOOTSTRAP_NAME = 'bootstrap (BOOTSTRAP_ADMIN_KEY)';
const BOOTSTRAP_PREFIX = 'bootstrap';

@Injectable()
export class ApiKeysService implements OnApplicationBootstrap {
  private readonly log = new Logger(ApiKeysService.name);

  constructor(
    @InjectRepository(ApiKey) private readonly repo: Repository<ApiKey>,
    private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    @InjectConfig('secrets') private readonly secrets: Config<'secrets'>,
  ) {}

  /** What the last start did with the bootstrap key (for the start-up summary). */
  bootstrapState: 'active' | 'replaced' | 'revoked' | 'kept' | 'none' = 'none';

  /**
   * BOOTSTRAP_ADMIN_KEY set: a global key with that value exists after start; a previous
   * bootstrap key with another value is revoked (rotating the variable rotates the key, said
   * in the log). Unset: nothing changes, so a restart without the variable never locks the
   * operator out. `revoke`: the bootstrap key is revoked, explicitly, once real keys exist.
   */
  async onApplicationBootstrap(): Promise<void> {
    const value = this.secrets.bootstrapAdminKey;
    if (value === undefined) {
      const active = await this.repo.count({ where: { name: BOOTSTRAP_NAME, revokedAt: IsNull() } });
      this.bootstrapState = active ? 'kept' : 'none';
      if (active) this.log.log('BOOTSTRAP_ADMIN_KEY is unset: the bootstrap admin key from before stays active (BOOTSTRAP_ADMIN_KEY=revoke revokes it)');
      return;
    }
    if (value === REVOKE_BOOTSTRAP_KEY) {
      const result = await this.repo
        .createQueryBuilder()
        .update(ApiKey)
        .set({ revokedAt: () => 'now()' })
        .where('name = :name AND revoked_at IS NULL', { name: BOOTSTRAP_NAME })
        .execute();
      this.bootstrapState = 'revoked';
      this.log.warn(`BOOTSTRAP_ADMIN_KEY=revoke: ${result.affected ? 'the bootstrap admin key was revoked' : 'there was no active bootstrap admin key'}`);
      return;
    }
    const hash = sha256Hex(value);
    const replaced = await this.dataSource.transaction(async (m) => {
      // The prefix shown in key lists is not taken from an operator-chosen value: part of a
      // short human-made secret is a real hint, unlike the prefix of a 256-bit random key.
      await m.query(
        `INSERT INTO api_keys (name, prefix, key_hash, tenant_id) VALUES ($1, $2, $3, NULL)
         ON CONFLICT (key_hash) DO UPDATE SET name = EXCLUDED.name, prefix = EXCLUDED.prefix, revoked_at = NULL, tenant_id = NULL`,
        [BOOTSTRAP_NAME, BOOTSTRAP_PREFIX, hash],
      );
      const [, count] = (await m.query(
        `UPDATE api_keys SET revoked_at = now() WHERE name = $1 AND key_hash <> $2 AND revoked_at IS NULL`,
        [BOOTSTRAP_NAME, hash],
      )) as [unknown, number];
      return count > 0;
    });
    this.bootstrapState = replaced ? 'replaced' : 'active';
    this.log.log(replaced ? 'BOOTSTRAP_ADMIN_KEY changed: the previous bootstrap admin key was revoked, the new one is active' : 'bootstrap admin key is active');
  }

  /** Key names by id, for many ids in one query (the audit page names its actors); revoked keys included. */
  async namesOf(ids: string[]): Promise<Map<string, string>> {
    const wanted = [...new Set(ids.filter(isUuid))];
    if (!wanted.length) return new Map();
    const rows = await this.repo.find({ select: { id: true, name: true }, where: { id: In(wanted) } });
    return new Map(rows.map((k) => [k.id, k.name]));
  }

  /**
   * Resolves `Authorization: Bearer <key>`. Same answer for a missing, unknown or revoked key.
   * A key of a disabled tenant is refused here too: a suspended tenant's
   * admin can do nothing with it, neither mint new keys nor lift the suspension.
   */
  async authenticate(authorization: string | undefined): Promise<AdminPrincipal> {
    const m = /^Bearer\s+(\S{16,256})\s*$/i.exec(authorization ?? '');
    if (!m) throw unauthorized(AuthError.Unauthorized, 'A valid API key is required (Authorization: Bearer <key>)', 'missing or malformed');
    // One round trip. (Not repo.query(): for UPDATE ... RETURNING TypeORM's postgres driver
    // answers [rows, count], whose length is 2 even when no key matched.)
    const result = await this.repo
      .createQueryBuilder()
      .update(ApiKey)
      .set({ lastUsedAt: () => 'now()' })
      .where('key_hash = :hash AND revoked_at IS NULL', { hash: sha256Hex(m[1]) })
      // The tenant's state in the same round trip (a read of one tenants row by primary key,
      // on the path of every admin request).
      .returning(`id, tenant_id, ${tenantDisabled('api_keys.tenant_id')} AS tenant_disabled`)
      .execute();
    const rows = result.raw as { id: string; tenant_id: string | null; tenant_disabled: boolean | null }[];
    if (rows.length !== 1) throw unauthorized(AuthError.Unauthorized, 'A valid API key is required (Authorization: Bearer <key>)', 'unknown or revoked key');
    if (rows[0].tenant_disabled) {
      throw unauthorized(AuthError.Unauthorized, "This API key's tenant is disabled", `key ${rows[0].id} of disabled tenant ${rows[0].tenant_id}`);
    }
    return { keyId: rows[0].id, tenantId: rows[0].tenant_id };
  }

  /**
   * Creates a key; the plaintext is returned here once and never again. The caller has
   * checked that the principal may create a key for `tenantId`.
   */
  async create(meta: RequestMeta, input: { name: string; tenantId: string | null }): Promise<{ key: string; apiKey: ApiKey }> {
    // The bootstrap key is recognised by its name: another key with it would be revoked at start.
    if (input.name === BOOTSTRAP_NAME) throw badRequest(AuthError.ReservedName, `"${BOOTSTRAP_NAME}" is reserved for the bootstrap key`);
    const key = `eidp_${randomToken(32)}`;
    const apiKey = await this.dataSource.transaction(async (m) => {
      if (input.tenantId !== null) {
        await TenantsService.assertExists(m, input.tenantId);
      }
      const row = m.getRepository(ApiKey).create({
        name: input.name,
        prefix: key.slice(0, 12),
        keyHash: sha256Hex(key),
        tenantId: input.tenantId,
      });
      const saved = await m.getRepository(ApiKey).save(row);
      await this.audit.record(meta, { type: 'api_key.created', tenantId: input.tenantId, details: { apiKeyId: saved.id, name: input.name } }, m);
      return saved;
    });
    delete (apiKey as Partial<ApiKey>).keyHash;
    return { key, apiKey };
  }

  /**
   * Keys visible to the caller: undefined = every key (a global caller), null = global keys
   * only, a tenant id = that tenant's keys. Revoked keys only when asked for.
   */
  list(scopeTenantId: string | null | undefined, opts: { includeRevoked?: boolean } = {}): Promise<ApiKey[]> {
    const where: FindOptionsWhere<ApiKey> = {};
    if (scopeTenantId !== undefined) where.tenantId = scopeTenantId === null ? IsNull() : scopeTenantId;
    if (!opts.includeRevoked) where.revokedAt = IsNull();
    return this.repo.find({ where, order: { createdAt: 'ASC' } });
  }

  async revoke(meta: RequestMeta, id: string, scopeTenantId: string | null): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      const where = scopeTenantId ? { id, tenantId: scopeTenantId } : { id };
      const key = await m.getRepository(ApiKey).findOne({ where: { ...where, revokedAt: IsNull() } });
      if (!key) throw notFound(AuthError.ApiKeyNotFound);
      await m.getRepository(ApiKey).update({ id, revokedAt: IsNull() }, { revokedAt: new Date() });
      await this.audit.record(meta, { type: 'api_key.revoked', tenantId: key.tenantId, details: { apiKeyId: id } }, m);
    });
  }

}
