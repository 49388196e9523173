import { Injectable } from '@nestjs/common';
import { namedQuery } from '../common/named-query';
import { Batcher, HOT_PATH_BATCHING } from '../common/batcher';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import type { RequestMeta } from '../common/request-meta';
import { badRequest, conflict, notFound } from '../common/errors';
import { normaliseEmail } from '../common/identifiers';
import { isForeignKeyViolation } from '../common/db-errors';
import { joinTenant } from '../tenants/tenants.sql';
import type { ClaimedVia } from './bi-identity.entity';
import { biInstance, emailDomain } from './instance';
import { IdentitiesError } from './identities.errors';

export interface BiIdentityView {
  instance: string;
  email: string;
  tenantId: string;
  tenantSlug: string;
  claimedVia: ClaimedVia;
  claimedAt: Date;
}

export interface EmailDomainView {
  domain: string;
  tenantId: string;
  createdAt: Date;
}

/** A host name of at least two labels (RFC 1035 letters, digits and hyphens), lower-cased. */
interface IdentityRow {
  instance: string;
  email: string;
  tenant_id: string;
  tenant_slug: string;
  claimed_via: ClaimedVia;
  claimed_at: Date;
}

const DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$/;

const domainOwned = (domain: string) =>
  conflict(
    IdentitiesError.EmailDomainOwned,
    `email addresses in ${domain} belong to another organization and cannot be used here; an operator can move the domain`,
    { domain },
  );

/**
 * Who owns which BI identity, and which tenant owns which email domain (README "BI
 * identities"). The rules live here, for every caller: the admin API, user creation, access
 * grants, the SSO flow (through identityClaimCtes) and the host-app hand-off.
 *
 * - An email in a domain given to a tenant exists only in that tenant (users, shared accounts).
 * - Otherwise the first tenant to use an email on a BI instance owns it there: at user
 *   creation (for the instances the tenant already uses), at an access grant (its users, or
 *   its shared account) or at its first sign-in. Nothing a tenant does displaces another's identity;
 *   only an operator transfers or releases one.
 */
/**
 * The reads of other modules' tables these rules need inside their transactions, as SQL
 * their owners hand over at start: the users module (users.sql.ts) and the SSO module
 * (access.sql.ts) depend on this one, so it cannot import them.
 */
export interface IdentitySources {
  /** $1 tenant id -> email: the tenant's users' emails (users module). */
  tenantUserEmails: string;
  /** $1 domain, $2 tenant id -> tenant_id: other tenants having users in the domain (users module). */
  userTenantsInDomain: string;
  /** $1 tenant id -> base_url: the targets whose users are seen by email (SSO module). */
  tenantUserBaseUrls: string;
  /** $1 domain, $2 tenant id -> tenant_id: other tenants whose shared account is in the domain (SSO module). */
  sharedAccountTenantsInDomain: string;
}

@Injectable()
export class IdentitiesService {
  private readonly sources: Partial<IdentitySources> = {};

  /** ownerOf's reads outside a transaction, shared by concurrent callers (src/common/batcher.ts). */
  private readonly owners = new Batcher<{ instance: string; email: string }, string | null>((keys) => this.ownersBatch(keys), HOT_PATH_BATCHING);

  constructor(
    private readonly dataSource: DataSource,
    private readonly audit: AuditService,
  ) {}

  /** Called by the owners of the tables in IdentitySources (UsersService, AccessIdentitySources). */
  provideSources(sources: Partial<IdentitySources>): void {
    Object.assign(this.sources, sources);
  }

  private source(name: keyof IdentitySources): string {
    const sql = this.sources[name];
    if (!sql) throw new Error(`IdentitiesService: no ${name} source (its owner's module is not loaded)`);
    return sql;
  }

  /**
   * Refuses (409 email_domain_owned) an email whose domain another tenant owns. Takes the
   * domain's advisory lock until the caller's transaction ends, so a domain being given
   * away at the same moment cannot slip a user in under it. Shared: users created in one
   * domain at once (a burst of just-in-time hand-offs from one company) do not wait for each
   * other, only for a domain assignment (which takes it exclusively) and it for them.
   */
  async assertEmailAllowed(m: EntityManager, tenantId: string, email: string): Promise<void> {
    const domain = emailDomain(email);
    await lockDomain(m, domain, 'shared');
    const rows: { tenant_id: string }[] = await m.query(`SELECT tenant_id FROM email_domains WHERE domain = $1`, [domain]);
    if (rows.length && rows[0].tenant_id !== tenantId) throw domainOwned(domain);
  }

  /** The tenant that owns an email's domain, or null (home-realm discovery: which organization's IdP). */
  async tenantOwningEmail(email: string): Promise<string | null> {
    const rows: { tenant_id: string }[] = await this.dataSource.query(`SELECT tenant_id FROM email_domains WHERE domain = $1`, [emailDomain(email)]);
    return rows[0]?.tenant_id ?? null;
  }

  /**
   * A new user's email, claimed on every BI instance the tenant already uses, so a user
   * created first is never denied later by a twin another tenant created. Silent when
   * someone else owns it: user creation must not tell whether an email exists elsewhere.
   */
  async claimForNewUser(m: EntityManager, tenantId: string, email: string): Promise<void> {
    const rows: { base_url: string }[] = await m.query(this.source('tenantUserBaseUrls'), [tenantId]);
    const instances = [...new Set(rows.map((r) => biInstance(r.base_url)).filter((i): i is string => i !== null))];
    if (!instances.length) return;
    await m.query(
      `INSERT INTO bi_identities (instance, email, tenant_id, claimed_via)
       SELECT i, $2, $3, 'user' FROM unnest($1::varchar[]) AS i
       ON CONFLICT (instance, email) DO NOTHING`,
      [instances, email.toLowerCase(), tenantId],
    );
  }

  /**
   * Access granted to an instance: the tenant's existing users' emails are claimed there now,
   * so a user who existed before is never denied by a twin another tenant creates later.
   * Silent where another tenant owns an email already (or its domain).
   */
  async claimTenantUsers(m: EntityManager, tenantId: string, baseUrl: string): Promise<void> {
    const instance = biInstance(baseUrl);
    if (!instance) return;
    await m.query(
      `INSERT INTO bi_identities (instance, email, tenant_id, claimed_via)
       SELECT $2, u.email, $1, 'user' FROM (${this.source('tenantUserEmails')}) u
        WHERE NOT EXISTS (SELECT 1 FROM email_domains d WHERE d.domain = substring(u.email from '@([^@]*)$') AND d.tenant_id <> $1)
       ON CONFLICT (instance, email) DO NOTHING`,
      [tenantId, instance],
    );
  }

  /**
   * A shared account granted by an operator: claimed for the tenant now, not at its first
   * use, so no other tenant can take it in between. Another owner: 409 naming it (the caller
   * holds the global key).
   */
  async claimSharedAccount(m: EntityManager, tenantId: string, baseUrl: string, email: string): Promise<void> {
    const e = email.toLowerCase();
    await this.assertEmailAllowed(m, tenantId, e);
    const instance = biInstance(baseUrl);
    if (!instance) return;
    await m.query(
      `INSERT INTO bi_identities (instance, email, tenant_id, claimed_via) VALUES ($1, $2, $3, 'shared_account')
       ON CONFLICT (instance, email) DO NOTHING`,
      [instance, e, tenantId],
    );
    const owner = await this.ownerOf(instance, e, m);
    if (owner !== tenantId) {
      throw conflict(IdentitiesError.IdentityOwnedElsewhere, `${e} is already another tenant's identity on ${instance}; transfer it first (PUT /api/v1/bi-identities)`, {
        instance,
        email: e,
        ownerTenantId: owner,
      });
    }
  }

  /** The tenant owning the identity now (a fresh read), or null. */
  async ownerOf(instance: string, email: string, m?: EntityManager): Promise<string | null> {
    const params = [instance, email.toLowerCase()];
    if (m) return ((await m.query(OWNER_OF_SQL, params)) as { tenant_id: string }[])[0]?.tenant_id ?? null;
    // Outside a transaction (every hand-off asks it): concurrent asks share one prepared
    // statement (a read sent after each asked, so as fresh as its own would be).
    return this.owners.submit({ instance: params[0], email: params[1] });
  }

  private async ownersBatch(keys: { instance: string; email: string }[]): Promise<(string | null)[]> {
    const rows = await namedQuery<{ n: string; tenant_id: string }>(this.dataSource, OWNERS_OF_SQL, [keys.map((k) => k.instance), keys.map((k) => k.email)]);
    const out: (string | null)[] = keys.map(() => null);
    for (const r of rows) out[Number(r.n) - 1] = r.tenant_id;
    return out;
  }

  // ---- operators: list, transfer, release ----------------------------------------------

  async list(q: { instance?: string; email?: string }): Promise<BiIdentityView[]> {
    if (!q.instance && !q.email) throw badRequest(IdentitiesError.FilterRequired, 'give instance, email or both');
    const instance = q.instance !== undefined ? requireInstance(q.instance) : null;
    const rows: IdentityRow[] = await this.dataSource.query(
      `SELECT b.instance, b.email, b.tenant_id, t.slug AS tenant_slug, b.claimed_via, b.claimed_at
         FROM bi_identities b ${joinTenant('t', 'b.tenant_id')}
        WHERE ($1::varchar IS NULL OR b.instance = $1) AND ($2::varchar IS NULL OR b.email = $2)
        ORDER BY b.instance, b.email
        LIMIT 500`,
      [instance, q.email === undefined ? null : normaliseEmail(q.email)],
    );
    return rows.map(toView);
  }

  /** Gives the identity to `tenantId` (claimed or not before). The domain rule still holds. */
  async transfer(meta: RequestMeta, input: { instance: string; email: string; tenantId: string }): Promise<BiIdentityView> {
    const instance = requireInstance(input.instance);
    const email = normaliseEmail(input.email);
    return this.dataSource.transaction(async (m) => {
      await this.assertEmailAllowed(m, input.tenantId, email);
      const before = await this.ownerOf(instance, email, m);
      try {
        await m.query(
          `INSERT INTO bi_identities (instance, email, tenant_id, claimed_via) VALUES ($1, $2, $3, 'operator')
           ON CONFLICT (instance, email) DO UPDATE SET tenant_id = EXCLUDED.tenant_id, claimed_via = 'operator', claimed_at = now()`,
          [instance, email, input.tenantId],
        );
      } catch (e) {
        if (isForeignKeyViolation(e)) throw notFound(IdentitiesError.TenantNotFound);
        throw e;
      }
      await this.audit.record(meta, { type: 'bi_identity.transferred', tenantId: input.tenantId, details: { instance, email, from: before, to: input.tenantId } }, m);
      const [row]: IdentityRow[] = await m.query(
        `SELECT b.*, t.slug AS tenant_slug FROM bi_identities b ${joinTenant('t', 'b.tenant_id')} WHERE b.instance = $1 AND b.email = $2`,
        [instance, email],
      );
      return toView(row);
    });
  }

  /** Frees the identity: the next tenant to use it on the instance owns it. */
  async release(meta: RequestMeta, input: { instance: string; email: string }): Promise<void> {
    const instance = requireInstance(input.instance);
    const email = normaliseEmail(input.email);
    await this.dataSource.transaction(async (m) => {
      // TypeORM answers a DELETE .. RETURNING with [rows, count].
      const [rows]: [{ tenant_id: string }[], number] = await m.query(`DELETE FROM bi_identities WHERE instance = $1 AND email = $2 RETURNING tenant_id`, [instance, email]);
      if (!rows.length) throw notFound(IdentitiesError.BiIdentityNotFound);
      await this.audit.record(meta, { type: 'bi_identity.released', tenantId: rows[0].tenant_id, details: { instance, email } }, m);
    });
  }

  // ---- email domains --------------------------------------------------------------------

  async listDomains(tenantId: string): Promise<EmailDomainView[]> {
    const rows: { domain: string; tenant_id: string; created_at: Date }[] = await this.dataSource.query(
      `SELECT domain, tenant_id, created_at FROM email_domains WHERE tenant_id = $1 ORDER BY domain`,
      [tenantId],
    );
    return rows.map((r) => ({ domain: r.domain, tenantId: r.tenant_id, createdAt: r.created_at }));
  }

  /**
   * Gives the domain to the tenant (201; 200 when it already has it). Refused while another
   * tenant owns it (email_domain_taken) or has users, shared accounts or identities in it
   * (email_domain_in_use, naming those tenants): the rule would otherwise be broken on day one.
   */
  async assignDomain(meta: RequestMeta, tenantId: string, rawDomain: string): Promise<{ domain: EmailDomainView; created: boolean }> {
    const domain = requireDomain(rawDomain);
    return this.dataSource.transaction(async (m) => {
      await lockDomain(m, domain);
      const [existing]: { tenant_id: string; created_at: Date }[] = await m.query(`SELECT tenant_id, created_at FROM email_domains WHERE domain = $1`, [domain]);
      if (existing && existing.tenant_id === tenantId) return { domain: { domain, tenantId, createdAt: existing.created_at }, created: false };
      if (existing) throw conflict(IdentitiesError.EmailDomainTaken, `${domain} already belongs to another tenant`, { domain, tenantId: existing.tenant_id });
      const users: { tenant_id: string }[] = await m.query(this.source('userTenantsInDomain'), [domain, tenantId]);
      const shared: { tenant_id: string }[] = await m.query(this.source('sharedAccountTenantsInDomain'), [domain, tenantId]);
      const claimed: { tenant_id: string }[] = await m.query(
        `SELECT DISTINCT tenant_id FROM bi_identities WHERE tenant_id <> $2 AND substring(email from '@([^@]*)$') = $1`,
        [domain, tenantId],
      );
      const others = [...new Set([...users, ...shared, ...claimed].map((r) => r.tenant_id))].sort();
      if (others.length) {
        throw conflict(IdentitiesError.EmailDomainInUse, `other tenants have users, shared accounts or BI identities in ${domain}; move or delete them first`, {
          domain,
          tenantIds: others,
        });
      }
      let row: { created_at: Date };
      try {
        [row] = await m.query(`INSERT INTO email_domains (domain, tenant_id) VALUES ($1, $2) RETURNING created_at`, [domain, tenantId]);
      } catch (e) {
        if (isForeignKeyViolation(e)) throw notFound(IdentitiesError.TenantNotFound);
        throw e;
      }
      await this.audit.record(meta, { type: 'email_domain.assigned', tenantId, details: { domain } }, m);
      return { domain: { domain, tenantId, createdAt: row.created_at }, created: true };
    });
  }

  async removeDomain(meta: RequestMeta, tenantId: string, rawDomain: string): Promise<void> {
    const domain = requireDomain(rawDomain);
    await this.dataSource.transaction(async (m) => {
      const [rows]: [unknown[], number] = await m.query(`DELETE FROM email_domains WHERE domain = $1 AND tenant_id = $2 RETURNING domain`, [domain, tenantId]);
      if (!rows.length) throw notFound(IdentitiesError.EmailDomainNotFound);
      await this.audit.record(meta, { type: 'email_domain.removed', tenantId, details: { domain } }, m);
    });
  }
}

const OWNER_OF_SQL = `SELECT tenant_id FROM bi_identities WHERE instance = $1::varchar AND email = $2::varchar`;
/** OWNER_OF_SQL for many (instance, email) pairs at once (a primary-key probe each): `n` is the pair's 1-based position. */
export const OWNERS_OF_SQL = `
  SELECT i.n, b.tenant_id
    FROM unnest($1::varchar[], $2::varchar[]) WITH ORDINALITY AS i(instance, email, n)
    JOIN LATERAL (SELECT tenant_id FROM bi_identities WHERE instance = i.instance AND email = i.email) b ON true`;

/**
 * One advisory lock per domain, held to the end of the transaction: exclusive to change who
 * owns the domain, shared to add an email under the current owner. Each statement after it
 * reads with a fresh snapshot (READ COMMITTED), so it sees what the other side committed.
 */
async function lockDomain(m: EntityManager, domain: string, mode: 'exclusive' | 'shared' = 'exclusive'): Promise<void> {
  const fn = mode === 'shared' ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock';
  await m.query(`SELECT ${fn}(hashtext('email_domain:' || $1))`, [domain]);
}

function requireDomain(raw: string): string {
  const domain = String(raw).trim().toLowerCase();
  if (!DOMAIN.test(domain)) throw badRequest(IdentitiesError.InvalidDomain, 'the domain must be a host name such as example.com', { domain: String(raw).slice(0, 100) });
  return domain;
}

function requireInstance(raw: string): string {
  const instance = biInstance(String(raw).trim());
  if (!instance) throw badRequest(IdentitiesError.InvalidInstance, 'instance must be the BI tool\'s http(s) URL, e.g. https://bi.example.com');
  return instance;
}

function toView(r: IdentityRow): BiIdentityView {
  return { instance: r.instance, email: r.email, tenantId: r.tenant_id, tenantSlug: r.tenant_slug, claimedVia: r.claimed_via, claimedAt: r.claimed_at };
}
