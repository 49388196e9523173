import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { DataSource, IsNull, Not, Repository } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { notFound, unauthorized } from '../common/errors';
import { InjectConfig } from '../config/config.module';
import { AppConfig } from '../config/configuration';
import { randomToken, sha256Hex } from '../crypto/tokens';
import { ApiKey } from './api-key.entity';
import { AdminPrincipal, RequestMeta } from './auth.types';

const BOOTSTRAP_NAME = 'bootstrap (BOOTSTRAP_ADMIN_KEY)';

@Injectable()
export class ApiKeysService implements OnApplicationBootstrap {
  private readonly log = new Logger(ApiKeysService.name);

  constructor(
    @InjectRepository(ApiKey) private readonly repo: Repository<ApiKey>,
    private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  /**
   * When BOOTSTRAP_ADMIN_KEY is set, a global key with that value exists after start; a
   * previous bootstrap key with another value is revoked, so rotating the variable rotates
   * the key.
   */
  async onApplicationBootstrap(): Promise<void> {
    const value = this.config.secrets.bootstrapAdminKey;
    if (!value) return;
    const hash = sha256Hex(value);
    await this.dataSource.transaction(async (m) => {
      await m.query(
        `INSERT INTO api_keys (name, prefix, key_hash, tenant_id) VALUES ($1, $2, $3, NULL)
         ON CONFLICT (key_hash) DO UPDATE SET revoked_at = NULL, tenant_id = NULL`,
        [BOOTSTRAP_NAME, value.slice(0, 8), hash],
      );
      await m.query(
        `UPDATE api_keys SET revoked_at = now() WHERE name = $1 AND key_hash <> $2 AND revoked_at IS NULL`,
        [BOOTSTRAP_NAME, hash],
      );
    });
    this.log.log('bootstrap admin key is active');
  }

  /** Resolves `Authorization: Bearer <key>`. Same answer for a missing, unknown or revoked key. */
  async authenticate(authorization: string | undefined): Promise<AdminPrincipal> {
    const m = /^Bearer\s+(\S{16,256})\s*$/i.exec(authorization ?? '');
    if (!m) throw unauthorized('unauthorized', 'A valid API key is required (Authorization: Bearer <key>)', 'missing or malformed');
    const rows: { id: string; tenant_id: string | null }[] = await this.repo.query(
      `UPDATE api_keys SET last_used_at = now()
        WHERE key_hash = $1 AND revoked_at IS NULL
        RETURNING id, tenant_id`,
      [sha256Hex(m[1])],
    );
    if (!rows.length) throw unauthorized('unauthorized', 'A valid API key is required (Authorization: Bearer <key>)', 'unknown or revoked key');
    return { keyId: rows[0].id, tenantId: rows[0].tenant_id };
  }

  /** Creates a key; the plaintext is returned here once and never again. */
  async create(meta: RequestMeta, input: { name: string; tenantId: string | null }): Promise<{ key: string; apiKey: ApiKey }> {
    const key = `eidp_${randomToken(32)}`;
    const apiKey = await this.dataSource.transaction(async (m) => {
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

  /** Keys visible to the caller: a tenant-scoped caller sees only its tenant's keys. */
  list(scopeTenantId: string | null | undefined): Promise<ApiKey[]> {
    return this.repo.find({
      where: scopeTenantId === undefined ? {} : scopeTenantId === null ? { tenantId: IsNull() } : { tenantId: scopeTenantId },
      order: { createdAt: 'ASC' },
    });
  }

  async revoke(meta: RequestMeta, id: string, scopeTenantId: string | null): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      const where = scopeTenantId ? { id, tenantId: scopeTenantId } : { id };
      const key = await m.getRepository(ApiKey).findOne({ where: { ...where, revokedAt: IsNull() } });
      if (!key) throw notFound('api key');
      await m.getRepository(ApiKey).update({ id, revokedAt: IsNull() }, { revokedAt: new Date() });
      await this.audit.record(meta, { type: 'api_key.revoked', tenantId: key.tenantId, details: { apiKeyId: id } }, m);
    });
  }

  /** Used by tests and the console to tell whether any usable global key exists. */
  countActiveGlobal(): Promise<number> {
    return this.repo.count({ where: { tenantId: IsNull(), revokedAt: IsNull(), id: Not(IsNull()) } });
  }
}
