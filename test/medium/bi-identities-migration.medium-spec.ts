import { DataSource } from 'typeorm';
import { createDataSource } from '../../src/database/data-source';
import { runMigrationsLocked } from '../../src/database/migrations-runner';
import { createDatabase, dropDatabase } from '../setup/test-db';

/**
 * Upgrading: the migration that brings BI identities claims what existing grants already use,
 * so nobody is denied by the new rule; an email two tenants had on one instance goes to the
 * tenant whose user is older (it was refused for both before).
 */
describe('migration AddBiIdentities: backfill', () => {
  let db: { name: string; url: string };
  let ds: DataSource;

  beforeAll(async () => {
    db = await createDatabase({ empty: true });
    ds = createDataSource(db.url, 2);
    await ds.initialize();
  });
  afterAll(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await dropDatabase(db.name);
  });

  it('claims shared accounts, then users by age, per normalised instance', async () => {
    await runMigrationsLocked(ds);
    // Undo down to just before AddBiIdentities (later migrations come off first).
    for (;;) {
      const [last] = await ds.query(`SELECT name FROM migrations ORDER BY id DESC LIMIT 1`);
      await ds.undoLastMigration({ transaction: 'each' });
      if (last.name === 'AddBiIdentities1764000000000') break;
    }

    const tenant = async (slug: string) => (await ds.query(`INSERT INTO tenants (slug, name) VALUES ($1, $1) RETURNING id`, [slug]))[0].id as string;
    const user = (tenantId: string, email: string, createdAt: string) =>
      ds.query(`INSERT INTO users (tenant_id, email, created_at) VALUES ($1, $2, $3)`, [tenantId, email, createdAt]);
    const target = async (slug: string, baseUrl: string) =>
      (await ds.query(`INSERT INTO targets (slug, kind, base_url) VALUES ($1, 'metabase', $2) RETURNING id`, [slug, baseUrl]))[0].id as string;
    const grant = (tenantId: string, targetId: string, settings: object = {}) =>
      ds.query(`INSERT INTO tenant_target_access (tenant_id, target_id, settings) VALUES ($1, $2, $3)`, [tenantId, targetId, JSON.stringify(settings)]);

    const [old, young, globex] = [await tenant('old'), await tenant('young'), await tenant('globex')];
    await user(young, 'clash@example.com', '2025-02-01T00:00:00Z');
    await user(old, 'clash@example.com', '2025-01-01T00:00:00Z');
    await user(old, 'only-old@example.com', '2025-03-01T00:00:00Z');
    await user(globex, 'worker@globex.example', '2025-01-01T00:00:00Z');
    const a = await target('mb-a', 'https://BI.example.com:443/');
    const b = await target('mb-b', 'https://bi.example.com/metabase');
    await grant(old, a);
    await grant(young, b);
    await grant(globex, b, { sharedAccount: { email: 'Globex@BI.example.com' } });

    expect((await runMigrationsLocked(ds))[0]).toBe('AddBiIdentities1764000000000');
    const rows = await ds.query(`SELECT instance, email, tenant_id, claimed_via FROM bi_identities ORDER BY email`);
    expect(rows).toEqual([
      { instance: 'https://bi.example.com', email: 'clash@example.com', tenant_id: old, claimed_via: 'user' },
      { instance: 'https://bi.example.com', email: 'globex@bi.example.com', tenant_id: globex, claimed_via: 'shared_account' },
      { instance: 'https://bi.example.com', email: 'only-old@example.com', tenant_id: old, claimed_via: 'user' },
    ]);
  });
});
