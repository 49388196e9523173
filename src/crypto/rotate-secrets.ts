/*
 * `npm run rotate-secrets` (in the image: `node dist/src/crypto/rotate-secrets.js`): re-seals
 * every sealed value under SECRETS_KEY, opening what SECRETS_KEY_PREVIOUS sealed. Run it with
 * both set (the same environment as the service); afterwards SECRETS_KEY_PREVIOUS can go.
 */
import { loadConfig } from '../config/configuration';
import { createDataSource } from '../database/data-source';
import { resolveDatabaseUrl } from '../database/database-url';
import { runMigrationsLocked } from '../database/migrations-runner';
import { SecretBox } from './secret-box';
import { resealAll } from './secrets-check';

async function main(): Promise<void> {
  const config = loadConfig();
  if (!config.secrets.previousKey) {
    console.log('SECRETS_KEY_PREVIOUS is not set: values sealed under another key cannot be opened; only values that need no change will pass');
  }
  const { url, embedded } = await resolveDatabaseUrl(config.database, config.app.dataDir);
  const ds = createDataSource(url, 2);
  try {
    await ds.initialize();
    await runMigrationsLocked(ds);
    const { resealed, total } = await resealAll(ds, new SecretBox(config.secrets.key, config.secrets.previousKey));
    for (const [where, n] of Object.entries(resealed)) console.log(`${where}: ${n} re-sealed`);
    console.log(`${total} value(s) re-sealed under SECRETS_KEY; SECRETS_KEY_PREVIOUS is no longer needed`);
  } finally {
    if (ds.isInitialized) await ds.destroy();
    await embedded?.stop();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
