import 'reflect-metadata';
import cluster from 'node:cluster';
import * as path from 'node:path';
import { runPrimary } from './cluster';
import { loadConfig } from './config/configuration';
import { preflightEmbedded, stopEmbeddedPostgres } from './database/embedded-postgres';
import { assertPortFree, checkDatabase, explainStartupFailure } from './startup-failure';

/** What the failure message may name (set as soon as the configuration is read). */
const context: { databaseUrl?: string; port?: number; stack?: boolean } = {};

async function main(): Promise<void> {
  // Validate first, so a bad variable is reported plainly before anything starts; then the
  // two things most often wrong on a first start, each in seconds and in words. Only then is
  // the application loaded (several seconds of module loading a failed check need not wait for).
  const checked = loadConfig();
  context.port = checked.app.port;
  context.databaseUrl = checked.database.url;
  context.stack = ['debug', 'trace'].includes(checked.app.logLevel);
  // A worker of WORKERS=N: the primary checked the port and the database before forking it.
  if (cluster.isPrimary) {
    await assertPortFree(checked.app.port);
    if (checked.database.url) await checkDatabase(checked.database.url);
    else await preflightEmbedded({ dir: path.join(checked.app.dataDir, 'postgres'), port: checked.database.embeddedPort });
  }
  if (cluster.isPrimary && checked.app.workers > 1) {
    // src/cluster.ts: N workers share the port; this process only supervises them.
    await runPrimary(checked.app.workers, (msg) =>
      process.stdout.write(checked.app.interactive ? `${msg}\n` : `${JSON.stringify({ level: 30, time: Date.now(), pid: process.pid, context: 'Cluster', msg })}\n`),
    );
    return;
  }

  const [{ Logger }, { ApiKeysService }, { createApp }, { APP_CONFIG }, { drainAndClose }, { startupSummary, consoleLine }] = await Promise.all([
    import('@nestjs/common'),
    import('./auth/api-keys.service'),
    import('./bootstrap'),
    import('./config/config.module'),
    import('./health/shutdown'),
    import('./startup-summary'),
  ]);
  const app = await createApp();
  const config = app.get<ReturnType<typeof loadConfig>>(APP_CONFIG);
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
  try {
    await app.listen(config.app.port);
  } catch (err) {
    // Taken since the check above: close what started (the embedded Postgres) and say so.
    await app.close().catch(() => undefined);
    throw err;
  }
  new Logger('Main').log(`embed-idp listening on ${config.app.publicUrl} (port ${config.app.port}); console ${consoleLine(config)}`);
  // From a terminal, the lines that matter instead of ~95 JSON lines (logs keep to warnings).
  // With WORKERS=N, once (the first worker started; replacements get later ids), not N times.
  if (config.app.interactive && (cluster.isPrimary || cluster.worker?.id === 1)) process.stdout.write(startupSummary(config, app.get(ApiKeysService).bootstrapState));
}

main().catch(async (err) => {
  // One line, the cause and the fix (src/startup-failure.ts); the stack only on request.
  process.stderr.write(`embed-idp failed to start: ${explainStartupFailure(err, context)}\n`);
  if (context.stack) process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  // A failure after the embedded Postgres started (a wrong SECRETS_KEY) must not leave it running.
  await stopEmbeddedPostgres().catch(() => undefined);
  process.exit(1);
});
