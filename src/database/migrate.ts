/* `npm run migration:run` — applies pending migrations to DATABASE_URL or the embedded database. */
import { loadConfig } from '../config/configuration';
import { createDataSource } from './data-source';
import { resolveDatabaseUrl } from './database-url';
import { runMigrationsLocked } from './migrations-runner';

async function main(): Promise<void> {
  const config = loadConfig();
  const { url, embedded } = await resolveDatabaseUrl(config.database, config.app.dataDir);
  const ds = createDataSource(url, 2);
  try {
    await ds.initialize();
    const applied = await runMigrationsLocked(ds);
    console.log(applied.length ? `applied: ${applied.join(', ')}` : 'no pending migrations');
  } finally {
    if (ds.isInitialized) await ds.destroy();
    await embedded?.stop();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
