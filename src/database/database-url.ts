import * as path from 'node:path';
import { Config } from '../config/configuration';
import { EmbeddedHandle, startEmbeddedPostgres } from './embedded-postgres';

export const EMBEDDED_DATABASE = 'embed_idp';

/**
 * DATABASE_URL when given; otherwise start (or reuse) the embedded cluster under
 * DATA_DIR/postgres and return its URL. The caller stops `embedded` on shutdown.
 */
export async function resolveDatabaseUrl(
  database: Config<'database'>,
  dataDir: string,
  log: (line: string) => void = () => undefined,
): Promise<{ url: string; embedded?: EmbeddedHandle }> {
  if (database.url) return { url: database.url };
  const embedded = await startEmbeddedPostgres({
    dir: path.join(dataDir, 'postgres'),
    port: database.embeddedPort,
    log,
  });
  await embedded.ensureDatabase(EMBEDDED_DATABASE);
  return { url: embedded.withDatabase(EMBEDDED_DATABASE), embedded };
}
