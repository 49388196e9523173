import { DataSource } from 'typeorm';

/** Arbitrary constant: one migration run at a time across every process on the database. */
const MIGRATION_LOCK = 727_401_113;

/**
 * Runs pending migrations under a Postgres advisory lock, so several service processes
 * starting together against one database apply each migration exactly once.
 */
export async function runMigrationsLocked(ds: DataSource): Promise<string[]> {
  const runner = ds.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const done = await ds.runMigrations({ transaction: 'each' });
    return done.map((m) => m.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await runner.release();
  }
}

/** Thrown at start with MIGRATE_ON_START=off while the schema is behind the code. */
export class PendingMigrationsError extends Error {
  constructor(readonly pending: string[]) {
    super(
      `the database is missing ${pending.length} migration(s) this version needs (${pending.join(', ')}) and MIGRATE_ON_START is off: ` +
        'run them first (`node dist/src/database/migrate.js`; the Helm chart\'s migration Job does), or set MIGRATE_ON_START=on',
    );
    this.name = 'PendingMigrationsError';
  }
}

/** The migrations this code has that the database has not applied, by name. */
export async function pendingMigrations(ds: DataSource): Promise<string[]> {
  const table = ds.options.migrationsTableName ?? 'migrations';
  const exists: { t: string | null }[] = await ds.query(`SELECT to_regclass($1) AS t`, [table]);
  const applied = new Set<string>(exists[0].t ? (await ds.query(`SELECT name FROM "${table}"`)).map((r: { name: string }) => r.name) : []);
  return ds.migrations.map((m) => m.name!).filter((name) => !applied.has(name));
}
