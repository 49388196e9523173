import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AuditService } from '../../audit/audit.service';
import type { RequestMeta } from '../../common/request-meta';
import { updatedRows } from '../../common/db-errors';
import { notFound } from '../../common/errors';
import { SecretBox } from '../../crypto/secret-box';
import type { Tenant } from '../../tenants/tenant.entity';
import { TenantsService } from '../../tenants/tenants.service';
import { HandoffError } from '../handoff.errors';
import { handoffSecretContext, HandoffKeys } from './handoff-keys';
import { HandoffSecret } from './handoff-secret.entity';
import { HandoffSettings } from './handoff-settings.entity';

/** During a rotation the new secret and the one it replaced are both accepted; never more. */
export const MAX_SECRETS = 2;

export interface HandoffConfigView {
  jitProvisioning: boolean;
  syncGroups: boolean;
  /** Newest first. The values are write-only: only ids and dates are shown. */
  secrets: { id: string; createdAt: Date }[];
}

/** What verifying a tenant's assertion needs, in one read. */
export interface TenantHandoffState {
  jitProvisioning: boolean;
  syncGroups: boolean;
  secrets: { id: string; sealed: string }[];
}

/**
 * A tenant's hand-off configuration (admin API, global key only): the switches and the
 * sealed secrets. Every change writes its audit event in its transaction; secret values are
 * never returned, logged or put in an audit event.
 */
@Injectable()
export class HandoffConfigService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly tenants: TenantsService,
    private readonly box: SecretBox,
    private readonly keys: HandoffKeys,
    private readonly audit: AuditService,
  ) {}

  async get(tenantId: string): Promise<HandoffConfigView> {
    await this.tenants.findById(tenantId);
    return this.view(tenantId);
  }

  async update(meta: RequestMeta, tenantId: string, input: { jitProvisioning?: boolean; syncGroups?: boolean }): Promise<HandoffConfigView> {
    await this.tenants.findById(tenantId);
    await this.dataSource.transaction(async (m) => {
      await m.query(
        `INSERT INTO handoff_settings (tenant_id, jit_provisioning, sync_groups) VALUES ($1, coalesce($2, false), coalesce($3, false))
         ON CONFLICT (tenant_id) DO UPDATE SET jit_provisioning = coalesce($2, handoff_settings.jit_provisioning),
           sync_groups = coalesce($3, handoff_settings.sync_groups), updated_at = now()`,
        [tenantId, input.jitProvisioning ?? null, input.syncGroups ?? null],
      );
      await this.audit.record(meta, { type: 'handoff.settings_updated', tenantId, details: { ...input } }, m);
    });
    return this.view(tenantId);
  }

  /**
   * Adds a secret: it becomes the newest, the previous newest stays valid until removed (or
   * replaced by the next rotation), anything older is deleted.
   */
  async addSecret(meta: RequestMeta, tenantId: string, secret: string): Promise<{ id: string; createdAt: Date }> {
    await this.tenants.findById(tenantId);
    return this.dataSource.transaction(async (m) => {
      // Our own row of the tenant, locked: two rotations at once run one after the other,
      // so they cannot leave three secrets.
      await m.query(`INSERT INTO handoff_settings (tenant_id) VALUES ($1) ON CONFLICT (tenant_id) DO NOTHING`, [tenantId]);
      await m.query(`SELECT tenant_id FROM handoff_settings WHERE tenant_id = $1 FOR UPDATE`, [tenantId]);
      const id = randomUUID();
      const [row] = await m.query(
        // clock_timestamp, not now(): taken after the lock, so the newest is the last one added.
        `INSERT INTO handoff_secrets (id, tenant_id, secret_enc, created_at) VALUES ($1, $2, $3, clock_timestamp()) RETURNING id, created_at`,
        [id, tenantId, this.box.seal(secret, handoffSecretContext(tenantId, id))],
      );
      const dropped = updatedRows<{ id: string }>(
        await m.query(
          `DELETE FROM handoff_secrets WHERE tenant_id = $1 AND id NOT IN
             (SELECT id FROM handoff_secrets WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT ${MAX_SECRETS})
           RETURNING id`,
          [tenantId],
        ),
      );
      await this.audit.record(meta, { type: 'handoff.secret_added', tenantId, details: { secretId: id, retired: dropped.map((d) => d.id) } }, m);
      dropped.forEach((d) => this.keys.forget(d.id));
      return { id: row.id, createdAt: row.created_at };
    });
  }

  /** Ends a rotation (or revokes a leaked secret): that secret no longer verifies anything. */
  async removeSecret(meta: RequestMeta, tenantId: string, secretId: string): Promise<void> {
    await this.tenants.findById(tenantId);
    await this.dataSource.transaction(async (m) => {
      const rows = updatedRows(await m.query(`DELETE FROM handoff_secrets WHERE tenant_id = $1 AND id = $2 RETURNING id`, [tenantId, secretId]));
      if (!rows.length) throw notFound(HandoffError.HandoffSecretNotFound);
      await this.audit.record(meta, { type: 'handoff.secret_removed', tenantId, details: { secretId } }, m);
    });
    this.keys.forget(secretId);
  }

  /** For verification: the switches and the sealed secrets, one round trip. */
  async state(tenantId: string): Promise<TenantHandoffState> {
    const rows: StateRow[] = await this.dataSource.query(
      `SELECT s.jit_provisioning, s.sync_groups, k.id, k.secret_enc
         FROM (SELECT $1::uuid AS tenant_id) t
         LEFT JOIN handoff_settings s ON s.tenant_id = t.tenant_id
         LEFT JOIN handoff_secrets k ON k.tenant_id = t.tenant_id
        ORDER BY k.created_at DESC`,
      [tenantId],
    );
    return stateOf(rows);
  }

  private async view(tenantId: string): Promise<HandoffConfigView> {
    const settings = await this.dataSource.getRepository(HandoffSettings).findOne({ where: { tenantId } });
    const secrets = await this.dataSource.getRepository(HandoffSecret).find({ where: { tenantId }, order: { createdAt: 'DESC', id: 'DESC' } });
    return {
      jitProvisioning: settings?.jitProvisioning ?? false,
      syncGroups: settings?.syncGroups ?? false,
      secrets: secrets.map((s) => ({ id: s.id, createdAt: s.createdAt })),
    };
  }
}

export interface StateRow {
  jit_provisioning: boolean | null;
  sync_groups: boolean | null;
  id: string | null;
  secret_enc: string | null;
}

/** What a hand-off needs of its tenant (the columns a sign-in reads). */
export type HandoffTenant = Pick<Tenant, 'id' | 'slug' | 'name' | 'attributes' | 'disabled'>;

/** The switches and secrets of a tenant's rows (the hand-off's issuer lookup, src/inbound/issuer-lookup.ts). */
export function stateOf(rows: StateRow[]): TenantHandoffState {
  return {
    jitProvisioning: rows[0]?.jit_provisioning === true,
    syncGroups: rows[0]?.sync_groups === true,
    secrets: rows.filter((r) => r.id && r.secret_enc).map((r) => ({ id: r.id!, sealed: r.secret_enc! })),
  };
}
