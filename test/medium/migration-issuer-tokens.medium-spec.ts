import { Client } from 'pg';
import { MIGRATIONS } from '../../migrations';
import { TrustedIssuerTokensSpentOnce1766810000000 } from '../../migrations/1766810000000-TrustedIssuerTokensSpentOnce';
import { createDatabase, dropDatabase } from '../setup/test-db';

/**
 * A trusted issuer's token spent once for the issuer: the unique index can be built over rows
 * the previous version wrote (one token spent at two organizations keeps its oldest use), and
 * leaves the HS256 assertions' per-organization jtis alone.
 */
describe('migration: trusted-issuer tokens spent once across organizations', () => {
  let db: { name: string; url: string };
  let c: Client;
  // The migrations only call query(); a tiny QueryRunner stand-in runs them one by one.
  const runner = () => ({ query: (sql: string, params?: unknown[]) => c.query(sql, params as unknown[]).then((r) => r.rows) }) as never;
  const migration = new TrustedIssuerTokensSpentOnce1766810000000();

  beforeAll(async () => {
    db = await createDatabase({ empty: true });
    c = new Client({ connectionString: db.url });
    await c.connect();
    for (const M of MIGRATIONS) {
      if (M === TrustedIssuerTokensSpentOnce1766810000000) break;
      // Each in its own transaction, as the service's runner does (transaction: 'each').
      await c.query('BEGIN');
      await new M().up(runner());
      await c.query('COMMIT');
    }
  });
  afterAll(async () => {
    await c.end();
    await dropDatabase(db.name);
  });

  it('keeps the oldest use of a token spent twice, then refuses a third; HS256 jtis stay per organization', async () => {
    const tenant = async (slug: string) => (await c.query(`INSERT INTO tenants (slug, name) VALUES ($1, $1) RETURNING id`, [slug])).rows[0].id as string;
    const [a, b] = [await tenant('first'), await tenant('second')];
    const spend = (t: string, jti: string, at: string) =>
      c.query(`INSERT INTO handoff_consumed_assertions (tenant_id, jti, exp, created_at) VALUES ($1, $2, 9999999999, $3)`, [t, jti, at]);
    await spend(b, 'oidc:issuer:token-1', '2026-12-01T10:00:00Z');
    await spend(a, 'oidc:issuer:token-1', '2026-12-01T10:05:00Z');
    await spend(a, 'host-jti-1', '2026-12-01T10:00:00Z');
    await spend(b, 'host-jti-1', '2026-12-01T10:00:00Z');

    await migration.up(runner());

    const rows = (await c.query(`SELECT tenant_id, jti FROM handoff_consumed_assertions ORDER BY jti, tenant_id`)).rows;
    expect(rows).toEqual(
      [
        { tenant_id: a, jti: 'host-jti-1' },
        { tenant_id: b, jti: 'host-jti-1' },
        { tenant_id: b, jti: 'oidc:issuer:token-1' },
      ].sort((x, y) => (x.jti === y.jti ? x.tenant_id.localeCompare(y.tenant_id) : x.jti.localeCompare(y.jti))),
    );
    await expect(spend(a, 'oidc:issuer:token-1', '2026-12-02T00:00:00Z')).rejects.toThrow(/uq_handoff_consumed_issuer_tokens/);
    await spend(a, 'host-jti-2', '2026-12-02T00:00:00Z');
    await spend(b, 'host-jti-2', '2026-12-02T00:00:00Z');
  });

  it('undoes cleanly', async () => {
    await migration.down(runner());
    const { rows } = await c.query(`SELECT count(*)::int AS n FROM pg_indexes WHERE indexname = 'uq_handoff_consumed_issuer_tokens'`);
    expect(rows[0].n).toBe(0);
  });
});
