import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { BiLogout } from '../auth/bi-logout';
import { TARGETS_WITH_ACCESS_SQL, TENANT_LOGOUT_LANDING_SQL } from '../catalog/access.sql';
import { targetDefinition } from '../products';

/**
 * BI_LOGOUT for the front door: the browser URLs that end the BI sessions a session opened
 * (Metabase has no JWT single logout and never calls us: the product's contract "the user's browser must
 * load {metabase}/auth/logout"), and which logout landing pages a tenant may be sent to.
 */
@Injectable()
export class BiLogoutService implements BiLogout {
  constructor(private readonly dataSource: DataSource) {}

  async urlsFor(session: { tenantId: string; targetsUsed: string[] }): Promise<string[]> {
    if (!session.targetsUsed?.length) return [];
    // Disabled targets and revoked access included: the BI session this session opened
    // there is still alive and must still end. The access row, when there is one, says
    // where (a Sisense organization tenant has its own URL prefix).
    const rows = await this.dataSource.query(
      TARGETS_WITH_ACCESS_SQL,
      [session.tenantId, session.targetsUsed],
    );
    const urls: string[] = [];
    for (const r of rows) {
      const url = targetDefinition(r.kind)?.logoutUrl?.({
        target: { id: r.id, slug: r.slug, baseUrl: r.base_url, settings: r.settings ?? {} },
        access: { groupMappings: r.group_mappings ?? {}, attributes: r.attributes ?? {}, settings: r.access_settings ?? {} },
      });
      if (url) urls.push(url);
    }
    return urls;
  }

  async isTargetLandingPage(url: string, tenantId: string): Promise<boolean> {
    let normalised: string;
    try {
      // Stored normalised by the settings check (new URL(..).toString()); compare likewise.
      normalised = new URL(url).toString();
    } catch {
      return false;
    }
    const rows = await this.dataSource.query(
      TENANT_LOGOUT_LANDING_SQL,
      [tenantId, normalised],
    );
    return rows.length > 0;
  }
}
