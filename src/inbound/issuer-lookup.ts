import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Batcher, HOT_PATH_BATCHING } from '../common/batcher';
import { isSlug } from '../common/identifiers';
import { namedQuery } from '../common/named-query';
import { tenantBySlugSql } from '../tenants/tenants.sql';
import { HandoffTenant, stateOf, StateRow, TenantHandoffState } from './hs256/handoff-config.service';
import type { UnverifiedToken } from './inbound-source';
import { TrustedIssuer } from './trusted-issuer/trusted-issuer.entity';
import { trustedIssuerFromRow } from './trusted-issuer/trusted-issuers.service';

/** Everything any source may match an `iss` to, as one read found it. */
export interface IssuerMatches {
  /** The trusted-issuer rows whose issuer is the `iss` (any tenant). */
  trusted: TrustedIssuer[];
  /** The tenant whose slug is the `iss`, with its hand-off switches and sealed secrets (HS256). */
  hs256: { tenant: HandoffTenant; state: TenantHandoffState } | null;
}

/**
 * Each `iss` of $1 (`n`: its 1-based position) with the trusted issuers of that issuer and the
 * tenant of that slug with its switches and secrets (newest first). An `iss` is never both: a
 * trusted issuer is a URL (issuerUrlProblem), a slug has no ':' or '/'; were it both, the rows are the
 * cross product and the mapping keeps each row once (by id).
 */
export const ISSUER_LOOKUP_SQL = `
  SELECT i.n,
         ti.id AS ti_id, ti.tenant_id AS ti_tenant_id, ti.issuer, ti.audience, ti.algorithms, ti.claim_email, ti.claim_first_name, ti.claim_last_name,
         ti.claim_groups, ti.max_token_age_seconds, ti.jit_provisioning AS ti_jit_provisioning, ti.sync_groups AS ti_sync_groups, ti.created_at, ti.updated_at,
         t.id AS tenant_id, t.slug, t.name, t.attributes, t.disabled, s.jit_provisioning, s.sync_groups, k.id, k.secret_enc
    FROM unnest($1::text[]) WITH ORDINALITY AS i(iss, n)
    LEFT JOIN LATERAL (SELECT * FROM trusted_issuers WHERE issuer = i.iss) ti ON true
    LEFT JOIN LATERAL (${tenantBySlugSql('i.iss')}) t ON true
    LEFT JOIN handoff_settings s ON s.tenant_id = t.id
    LEFT JOIN handoff_secrets k ON k.tenant_id = t.id
   ORDER BY i.n, k.created_at DESC, ti.created_at`;

type LookupRow = StateRow & Record<string, any> & { n: string };

/**
 * The hand-off's first read, shared by its sources (HANDOFF_SOURCES, asked in turn with the
 * same token): what the trusted-issuer source and the HS256 source each match an `iss` to,
 * in ONE statement — asked once per token, whichever source asks first; the next one gets
 * the same answer. Every hand-off pays it before anything else, so it is prepared
 * (namedQuery) and shared by concurrent hand-offs (src/common/batcher.ts).
 */
@Injectable()
export class IssuerLookup {
  private readonly reads = new Batcher<string, IssuerMatches>((iss) => this.batch(iss), HOT_PATH_BATCHING);
  /** One read per token object (decodeHandoffToken makes one per request). */
  private readonly byToken = new WeakMap<UnverifiedToken, Promise<IssuerMatches>>();

  constructor(private readonly dataSource: DataSource) {}

  of(token: UnverifiedToken): Promise<IssuerMatches> {
    let found = this.byToken.get(token);
    if (!found) {
      found = this.reads.submit(token.iss);
      this.byToken.set(token, found);
    }
    return found;
  }

  private async batch(issuers: string[]): Promise<IssuerMatches[]> {
    const rows = await namedQuery<LookupRow>(this.dataSource, ISSUER_LOOKUP_SQL, [issuers]);
    const mine: LookupRow[][] = issuers.map(() => []);
    for (const r of rows) mine[Number(r.n) - 1].push(r);
    return issuers.map((iss, i) => matchesOf(iss, mine[i]));
  }
}

function matchesOf(iss: string, rows: LookupRow[]): IssuerMatches {
  const trusted: TrustedIssuer[] = [];
  const seen = new Set<string>();
  for (const r of rows) {
    if (!r.ti_id || seen.has(r.ti_id)) continue;
    seen.add(r.ti_id);
    trusted.push(trustedIssuerFromRow({ ...r, id: r.ti_id, tenant_id: r.ti_tenant_id, jit_provisioning: r.ti_jit_provisioning, sync_groups: r.ti_sync_groups }));
  }
  // The HS256 source's `iss` is a slug; anything else names no tenant (as before any read).
  const t = isSlug(iss) ? rows.find((r) => r.tenant_id) : undefined;
  let hs256: IssuerMatches['hs256'] = null;
  if (t) {
    const own: LookupRow[] = [];
    const secrets = new Set<string>();
    for (const r of rows) {
      if (!r.tenant_id || (r.id && secrets.has(r.id))) continue;
      if (r.id) secrets.add(r.id);
      own.push(r);
    }
    hs256 = { tenant: { id: t.tenant_id, slug: t.slug, name: t.name, attributes: t.attributes ?? {}, disabled: t.disabled }, state: stateOf(own) };
  }
  return { trusted, hs256 };
}
