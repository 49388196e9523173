/*
 * `npm run migration:run` (in the image: `node dist/src/database/migrate.js`) — applies pending
 * migrations to DATABASE_DIRECT_URL when set (a transaction pooler cannot hold the session
 * advisory lock), else DATABASE_URL or the embedded database, and exits. The Helm chart's
 * pre-install/pre-upgrade Job runs it, so replicas (MIGRATE_ON_START=off) never race.
 */
import { loadConfig } from '../config/configuration';
import { createDataSource } from './data-source';
import { resolveDatabaseUrl } from './database-url';
import { runMigrationsLocked } from './migrations-runner';

async function main(): Promise<void> {
  const config = loadConfig();
  const { url, embedded } = await resolveDatabaseUrl(config.database, config.app.dataDir);
  const ds = createDataSource(config.database.directUrl ?? url, 2);
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
