import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * BI identities have one owner (issue 8). Metabase and Sisense key a user by email alone, so
 * an email seen by one BI instance must belong to exactly one tenant there: `bi_identities`
 * records that owner, its primary key (instance, email) making a second owner impossible.
 * `email_domains` lets an operator give a tenant whole email domains (one owner per domain).
 */
export class AddBiIdentities1764000000000 implements MigrationInterface {
  name = 'AddBiIdentities1764000000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE email_domains (
        domain varchar(253) NOT NULL,
        tenant_id uuid NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (domain),
        CONSTRAINT ck_email_domains_lower CHECK (domain = lower(domain)),
        CONSTRAINT email_domains_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX ix_email_domains_tenant ON email_domains (tenant_id)`);
    await q.query(`
      CREATE TABLE bi_identities (
        instance varchar(300) NOT NULL,
        email varchar(254) NOT NULL,
        tenant_id uuid NOT NULL,
        claimed_via varchar(20) NOT NULL,
        claimed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (instance, email),
        CONSTRAINT ck_bi_identities_email_lower CHECK (email = lower(email)),
        CONSTRAINT bi_identities_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX ix_bi_identities_tenant ON bi_identities (tenant_id)`);
    await q.query(`CREATE INDEX ix_bi_identities_email ON bi_identities (email)`);
    await backfill(q);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE bi_identities`);
    await q.query(`DROP TABLE email_domains`);
  }
}

/**
 * Existing grants claim their identities, so nobody is denied by the new rule on upgrade:
 * shared accounts first (an operator chose them), then users, the earliest created first.
 * An email two tenants had on one instance (refused for both until now) goes to the tenant
 * whose user is older; an operator can transfer it. The instance is computed here as in
 * src/identities/instance.ts (WHATWG URL origin), copied so this migration never changes.
 */
async function backfill(q: QueryRunner): Promise<void> {
  const grants: { tenant_id: string; base_url: string; shared_email: string | null }[] = await q.query(
    `SELECT a.tenant_id, t.base_url, lower(a.settings #>> '{sharedAccount,email}') AS shared_email
       FROM tenant_target_access a JOIN targets t ON t.id = a.target_id`,
  );
  const origin = (url: string): string | null => {
    try {
      const u = new URL(url);
      return u.protocol === 'http:' || u.protocol === 'https:' ? u.origin : null;
    } catch {
      return null;
    }
  };
  const shared: [string, string, string][] = [];
  const userGrants: [string, string][] = [];
  for (const g of grants) {
    const instance = origin(g.base_url);
    if (!instance) continue;
    if (g.shared_email) shared.push([instance, g.shared_email, g.tenant_id]);
    else userGrants.push([instance, g.tenant_id]);
  }
  if (shared.length) {
    await q.query(
      `INSERT INTO bi_identities (instance, email, tenant_id, claimed_via)
       SELECT s.instance, s.email, s.tenant_id::uuid, 'shared_account'
         FROM unnest($1::varchar[], $2::varchar[], $3::varchar[]) WITH ORDINALITY AS s(instance, email, tenant_id, n)
        ORDER BY s.n
       ON CONFLICT (instance, email) DO NOTHING`,
      [shared.map((r) => r[0]), shared.map((r) => r[1]), shared.map((r) => r[2])],
    );
  }
  if (userGrants.length) {
    await q.query(
      `INSERT INTO bi_identities (instance, email, tenant_id, claimed_via)
       SELECT g.instance, u.email, u.tenant_id, 'user'
         FROM unnest($1::varchar[], $2::varchar[]) AS g(instance, tenant_id)
         JOIN users u ON u.tenant_id = g.tenant_id::uuid
        ORDER BY u.created_at, u.id
       ON CONFLICT (instance, email) DO NOTHING`,
      [userGrants.map((r) => r[0]), userGrants.map((r) => r[1])],
    );
  }
}
