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
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE bi_identities`);
    await q.query(`DROP TABLE email_domains`);
  }
}
