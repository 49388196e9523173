import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp } from './bootstrap';
import { APP_CONFIG } from './config/config.module';
import { AppConfig, ConfigError, loadConfig } from './config/configuration';
import { drainAndClose } from './health/shutdown';

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
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  await app.listen(config.app.port);
  new Logger('Main').log(`embed-idp listening on ${config.app.publicUrl} (port ${config.app.port})`);
}

main().catch((err) => {
  if (err instanceof ConfigError) {
    console.error(err.message);
  } else {
    console.error('embed-idp failed to start:', err instanceof Error ? err.stack : err);
  }
  process.exit(1);
});
