import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import type { RequestMeta } from '../common/request-meta';
import { badRequest, notFound } from '../common/errors';
import { IdentitiesService } from '../identities/identities.service';
import { TenantsService } from '../tenants/tenants.service';
import { GroupsService } from '../users/groups.service';
import { Access } from './access.entity';
import { AccessView, parseAccessInput } from './dto/access-input';
import { targetDefinition } from '../products';
import type { TargetKind } from './target.entity';
import { SsoError } from './sso.errors';

interface AccessRow {
  id: string;
  tenant_id: string;
  target_id: string;
  target_slug: string;
  target_kind: TargetKind;
  group_mappings: AccessView['groupMappings'];
  attributes: AccessView['attributes'];
  settings: AccessView['settings'];
  created_at: Date;
  updated_at: Date;
  inserted?: boolean;
}

/** Which tenant may use which target, and how its users appear there. Every query carries the tenant. */
@Injectable()
export class AccessService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly groups: GroupsService,
    private readonly identities: IdentitiesService,
  ) {
    // tenant_target_access.group_mappings is keyed by local group name: a rename carries the
    // mappings along, or the members would silently lose their BI groups at their next sign-in.
    groups.followRenames((m, tenantId, from, to) => this.renameMappedGroup(m, tenantId, from, to));
  }

  private async renameMappedGroup(m: EntityManager, tenantId: string, from: string, to: string): Promise<void> {
    await m.query(
      `UPDATE tenant_target_access
          SET group_mappings = (group_mappings - $2::text) || jsonb_build_object($3::text, group_mappings -> $2::text),
              updated_at = now()
        WHERE tenant_id = $1 AND group_mappings ? $2::text`,
      [tenantId, from, to],
    );
  }

  /** The tenant's grant to this target, or null (the console's access page and Try it). */
  async find(tenantId: string, targetId: string): Promise<AccessView | null> {
    const rows: AccessRow[] = await this.dataSource.query(
      `SELECT a.*, t.slug AS target_slug, t.kind AS target_kind
         FROM tenant_target_access a JOIN targets t ON t.id = a.target_id
        WHERE a.tenant_id = $1 AND a.target_id = $2`,
      [tenantId, targetId],
    );
    return rows.length ? toView(rows[0]) : null;
  }

  /** Every product group name any tenant's grant maps to on this target (what must exist in the product). */
  async mappedGroupNames(targetId: string): Promise<string[]> {
    const rows: { name: string }[] = await this.dataSource.query(
      `SELECT DISTINCT g.name FROM tenant_target_access a, jsonb_each(a.group_mappings) m, jsonb_array_elements_text(m.value) g(name)
        WHERE a.target_id = $1 ORDER BY 1`,
      [targetId],
    );
    return rows.map((r) => r.name);
  }

  /** The ids of the tenants granted this target (what deleting the target takes from whom). */
  async tenantsGranted(targetId: string): Promise<string[]> {
    const rows: { tenant_id: string }[] = await this.dataSource.query(`SELECT tenant_id FROM tenant_target_access WHERE target_id = $1`, [targetId]);
    return rows.map((r) => r.tenant_id);
  }

  /** The first grant of any tenant (the console's getting-started checklist links to its "Try it"). */
  async first(): Promise<{ tenantId: string; targetId: string } | null> {
    const rows: { tenant_id: string; target_id: string }[] = await this.dataSource.query(`SELECT tenant_id, target_id FROM tenant_target_access ORDER BY created_at LIMIT 1`);
    return rows.length ? { tenantId: rows[0].tenant_id, targetId: rows[0].target_id } : null;
  }

  async list(tenantId: string): Promise<AccessView[]> {
    await TenantsService.assertExists(this.dataSource.manager, tenantId);
    const rows: AccessRow[] = await this.dataSource.query(
      `SELECT a.*, t.slug AS target_slug, t.kind AS target_kind
         FROM tenant_target_access a JOIN targets t ON t.id = a.target_id
        WHERE a.tenant_id = $1
        ORDER BY t.slug`,
      [tenantId],
    );
    return rows.map(toView);
  }

  /** Grants the target to the tenant, or replaces the grant whole. `created` tells which. */
  async grant(meta: RequestMeta, tenantId: string, targetId: string, body: unknown): Promise<{ access: AccessView; created: boolean }> {
    return this.dataSource.transaction(async (m) => {
      await TenantsService.assertExists(m, tenantId);
      const [target]: { slug: string; kind: TargetKind; base_url: string }[] = await m.query(`SELECT slug, kind, base_url FROM targets WHERE id = $1`, [targetId]);
      if (!target) throw notFound(SsoError.TargetNotFound);
      const { value, problems } = parseAccessInput(body, target.kind);
      if (problems.length) throw badRequest(SsoError.InvalidAccess, problems.join('; '), { problems });
      // A mapping of a group the tenant does not have maps nobody: refused, naming it, as user
      // creation refuses an unknown group (a silent no-op would hide a typo). Create the
      // group first; renaming a group carries its mappings along (GroupsService.rename).
      const missing = await this.groups.missingNames(m, tenantId, Object.keys(value.groupMappings));
      if (missing.length) {
        throw badRequest(SsoError.UnknownGroups, `This tenant has no group ${missing.map((n) => JSON.stringify(n)).join(', ')}: add the group to the tenant first, or correct the name in the group mappings`, {
          groups: missing,
        });
      }
      // The identities the instance will see are the tenant's from now on, not from their
      // first use: its shared account (refused if another tenant's), or its users (silently
      // skipping any another tenant owns). README "BI identities and attributes".
      const sharedEmail = targetDefinition(target.kind)?.sso?.sharedAccountEmail?.(value.settings) ?? null;
      if (sharedEmail) await this.identities.claimSharedAccount(m, tenantId, target.base_url, sharedEmail);
      else await this.identities.claimTenantUsers(m, tenantId, target.base_url);

      const [row]: AccessRow[] = await m.query(
        `INSERT INTO tenant_target_access (tenant_id, target_id, group_mappings, attributes, settings)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant_id, target_id) DO UPDATE
           SET group_mappings = EXCLUDED.group_mappings, attributes = EXCLUDED.attributes,
               settings = EXCLUDED.settings, updated_at = now()
         RETURNING *, $6::text AS target_slug, $7::text AS target_kind, (xmax = 0) AS inserted`,
        [tenantId, targetId, JSON.stringify(value.groupMappings), JSON.stringify(value.attributes), JSON.stringify(value.settings), target.slug, target.kind],
      );
      await this.audit.record(
        meta,
        { type: 'access.granted', tenantId, details: { targetId, targetSlug: target.slug, replaced: !row.inserted } },
        m,
      );
      return { access: toView(row), created: row.inserted === true };
    });
  }

  async revoke(meta: RequestMeta, tenantId: string, targetId: string): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      const existing = await m.getRepository(Access).findOne({ where: { tenantId, targetId } });
      if (!existing) {
        await TenantsService.assertExists(m, tenantId);
        throw notFound(SsoError.AccessGrantNotFound);
      }
      await m.getRepository(Access).delete({ tenantId, targetId });
      await this.audit.record(meta, { type: 'access.revoked', tenantId, details: { targetId } }, m);
    });
  }
}

function toView(r: AccessRow): AccessView {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    targetId: r.target_id,
    targetSlug: r.target_slug,
    targetKind: r.target_kind,
    groupMappings: r.group_mappings,
    attributes: r.attributes,
    settings: r.settings,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
