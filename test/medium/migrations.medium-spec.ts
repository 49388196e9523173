import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../../migrations';
import { createDataSource } from '../../src/database/data-source';
import { runMigrationsLocked } from '../../src/database/migrations-runner';
import { createDatabase, dropDatabase } from '../setup/test-db';

/** The schema comes only from migrations (synchronize is off everywhere): they must apply, be idempotent and undo cleanly. */
describe('migrations', () => {
  let db: { name: string; url: string };
  let ds: DataSource;

  const tables = async (): Promise<string[]> =>
    (await ds.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`)).map(
      (r: { table_name: string }) => r.table_name,
    );

  beforeAll(async () => {
    db = await createDatabase({ empty: true });
    ds = createDataSource(db.url, 2);
    await ds.initialize();
  });
  afterAll(async () => {
    if (ds?.isInitialized) await ds.destroy();
    await dropDatabase(db.name);
  });

  it('start from an empty database', async () => {
    expect(await tables()).toEqual([]);
  });

  it('apply every migration, creating every entity table', async () => {
    const applied = await runMigrationsLocked(ds);
    expect(applied).toEqual(MIGRATIONS.map((m) => new m().name ?? m.name));
    const entityTables = ds.entityMetadatas.map((m) => m.tableName).sort();
    expect(entityTables).toEqual(
      expect.arrayContaining(['tenants', 'users', 'groups', 'group_members', 'targets', 'tenant_target_access', 'issued_tokens', 'iat_sequences', 'api_keys', 'sessions', 'login_throttles', 'audit_events']),
    );
    expect(await tables()).toEqual(expect.arrayContaining([...entityTables, 'migrations']));
  });

  it('leave nothing for the entities to add (entities and migrations agree)', async () => {
    const diff = (await ds.driver.createSchemaBuilder().log()).upQueries.map((q) => q.query);
    // The entities declare every foreign key, CHECK constraint and index of the migrations,
    // so `npm run migration:generate` has nothing to propose: any line here is a mismatch.
    expect(diff).toEqual([]);
  });

  it('apply nothing on a second run', async () => {
    await expect(runMigrationsLocked(ds)).resolves.toEqual([]);
  });

  it('undo, one by one, down to no tables but the migrations ledger', async () => {
    for (let i = 0; i < MIGRATIONS.length; i++) await ds.undoLastMigration({ transaction: 'each' });
    expect(await tables()).toEqual(['migrations']);
    expect(await ds.query(`SELECT * FROM migrations`)).toEqual([]);
    // And they apply again after being undone.
    expect(await runMigrationsLocked(ds)).toHaveLength(MIGRATIONS.length);
  });
});
