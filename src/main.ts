import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { ApiKeysService } from './auth/api-keys.service';
import { createApp } from './bootstrap';
import { APP_CONFIG } from './config/config.module';
import { AppConfig, ConfigError, loadConfig } from './config/configuration';
import { drainAndClose } from './health/shutdown';
import { EmbeddedPostgresError } from './database/embedded-postgres';
import { SecretsKeyError } from './crypto/secrets-check';
import { startupSummary } from './startup-summary';

async function main(): Promise<void> {
  // Validate first, so a bad variable is reported plainly before anything starts.
  loadConfig();
  const app = await createApp();
  const config = app.get<AppConfig>(APP_CONFIG);
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    new Logger('Main').log(`${signal}: shutting down`);
    // Stop accepting, let in-flight requests finish, then the DataSource and embedded Postgres.
    await drainAndClose(app, config.app.shutdownGraceSeconds * 1000);
    process.exit(0);
  };
  // From here this shutdown owns the signals. The embedded Postgres package (development only)
  // registers its own exit hook, which on SIGTERM stops Postgres under the requests still
  // draining and exits 143 before they finish; EmbeddedLifecycle stops it after the drain.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.removeAllListeners(signal);
    process.on(signal, () => void shutdown(signal));
  }
  await app.listen(config.app.port);
  new Logger('Main').log(`embed-idp listening on ${config.app.publicUrl} (port ${config.app.port})`);
  // From a terminal, the lines that matter instead of ~95 JSON lines (logs keep to warnings).
  if (config.app.interactive) process.stdout.write(startupSummary(config, app.get(ApiKeysService).bootstrapState));
}

main().catch((err) => {
  // Our own start-up errors carry the cause and the fix: print just that, not a stack.
  const known = [ConfigError, SecretsKeyError, EmbeddedPostgresError].find((k) => err instanceof k);
  if (known) {
    console.error(`embed-idp failed to start: ${(err as Error).message}`);
  } else {
    console.error('embed-idp failed to start:', err instanceof Error ? err.stack : err);
  }
  process.exit(1);
});
