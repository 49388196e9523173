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
