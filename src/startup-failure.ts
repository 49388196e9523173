import * as net from 'node:net';
import { Client } from 'pg';
import { ConfigError } from './config/env';

/**
 * Start-up failures are read by a person at a terminal or in `docker compose logs`: one line,
 * the cause and the fix, naming the variable to change. No stack (it says nothing to them),
 * no colour codes (they end up in log files), exit code 1.
 */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

/**
 * PORT is checked before the database is touched: a port in use is otherwise found only
 * after the embedded Postgres started and the migrations ran, and reported as Node's
 * `listen EADDRINUSE :::3000`, which never names PORT.
 */
export async function assertPortFree(port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE' || err.code === 'EACCES' ? portFailure(port, err.code) : err));
    // The same address app.listen(port) takes: every interface.
    probe.listen(port, () => probe.close(() => resolve()));
  });
}

function portFailure(port: number, code: string): StartupError {
  if (code === 'EACCES') return new StartupError(`PORT ${port} needs privileges this process does not have: set PORT to a port above 1023 (e.g. PORT=3000).`);
  return new StartupError(`PORT ${port} is already in use (another embed-idp, or another server): stop what uses it, or set PORT to a free port (e.g. PORT=${port === 3000 ? 3001 : 3000}).`);
}

/** "host:port" of a DATABASE_URL, for messages: never its user or password. */
export function databaseAddress(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || 'localhost'}:${u.port || '5432'}`;
  } catch {
    return '(unparseable)';
  }
}

/**
 * One connection to DATABASE_URL before anything else starts, so what is wrong with it is
 * said at once and in words: TypeORM's own start-up retries a refused connection nine times
 * over ~25 s, printing a stack each time, and never names the host.
 */
export async function checkDatabase(url: string, timeoutMs = 5000): Promise<void> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  // A connection dropped after connect() must not become an unhandled 'error' event.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (err) {
    throw databaseFailure(url, err);
  } finally {
    await client.end().catch(() => undefined);
  }
}

function errorCode(err: unknown): string | undefined {
  const e = err as { code?: string; errors?: { code?: string }[] } | undefined;
  // `localhost` resolves to ::1 and 127.0.0.1: Node reports both refusals as one AggregateError.
  return e?.code ?? e?.errors?.[0]?.code;
}

/** What a failed connection to DATABASE_URL means, said with its host and port; undefined when it is not one. */
export function databaseFailure(url: string, err: unknown): StartupError | undefined {
  const at = databaseAddress(url);
  const db = (() => {
    try {
      return decodeURIComponent(new URL(url).pathname.slice(1)) || '(none)';
    } catch {
      return '(none)';
    }
  })();
  const message = err instanceof Error ? err.message : String(err);
  switch (errorCode(err)) {
    case 'ECONNREFUSED':
      return new StartupError(`Postgres at ${at} (DATABASE_URL) refused the connection: start Postgres there, or correct the host and port in DATABASE_URL.`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new StartupError(`The host of DATABASE_URL (${at}) is not known to DNS: correct the host in DATABASE_URL (in docker compose, the service name, e.g. postgres).`);
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new StartupError(`Postgres at ${at} (DATABASE_URL) cannot be reached (no answer): check the host and port in DATABASE_URL and that a firewall lets this host through.`);
    case '28P01':
    case '28000':
      return new StartupError(`Postgres at ${at} refused the user or password in DATABASE_URL: correct them in DATABASE_URL (a password with special characters must be percent-encoded).`);
    case '3D000':
      return new StartupError(`The database "${db}" does not exist on Postgres at ${at}: create it (createdb ${db}) or correct its name in DATABASE_URL.`);
    case '42501':
      return new StartupError(`The user of DATABASE_URL may not connect to "${db}" on ${at}: grant it CONNECT and CREATE there, or use another user in DATABASE_URL.`);
  }
  if (/timeout/i.test(message)) {
    return new StartupError(`Postgres at ${at} (DATABASE_URL) did not answer within 5 seconds: check the host and port in DATABASE_URL and that a firewall lets this host through.`);
  }
  if (/SSL|certificate/i.test(message)) {
    return new StartupError(`The TLS connection to Postgres at ${at} failed (${message}): correct sslmode in DATABASE_URL.`);
  }
  return new StartupError(`Postgres at ${at} (DATABASE_URL) could not be used: ${message}. Check DATABASE_URL.`);
}

/** Errors whose message already says the cause and the fix: StartupError, SecretsKeyError, EmbeddedPostgresError. */
const OWN_ERRORS = ['StartupError', 'SecretsKeyError', 'EmbeddedPostgresError', 'PendingMigrationsError'];

/** The one line printed for a failed start (without the "embed-idp failed to start: " prefix). */
export function explainStartupFailure(err: unknown, ctx: { databaseUrl?: string; port?: number } = {}): string {
  if (err instanceof ConfigError) {
    return err.problems.length === 1 ? err.problems[0] : `${err.problems.length} variables to correct: ${err.problems.join('; ')}`;
  }
  // By name: this file is loaded before the application (the checks above run in seconds
  // because they do not wait for it), so it does not import the classes themselves.
  if (err instanceof Error && OWN_ERRORS.includes(err.name)) return err.message;
  const code = errorCode(err);
  if (ctx.port !== undefined && (code === 'EADDRINUSE' || code === 'EACCES')) return portFailure(ctx.port, code).message;
  if (ctx.databaseUrl && code && /^(E[A-Z]+|28P01|28000|3D000|42501)$/.test(code)) {
    const known = databaseFailure(ctx.databaseUrl, err);
    if (known) return known.message;
  }
  const message = err instanceof Error ? err.message : String(err);
  // PgBouncer's answer to the connection's startup options (plan_cache_mode): a transaction
  // pooler, which also cannot keep named statements, LISTEN or session locks per client.
  if (/unsupported startup parameter/.test(message)) {
    return `DATABASE_URL looks like a connection pooler (${message.split('\n')[0]}): set DATABASE_DIRECT_URL to Postgres itself beside it (README "Running many replicas (Kubernetes)")`;
  }
  return `${message.split('\n')[0]} (an unexpected error: run with LOG_LEVEL=debug to see where it happened, and report it).`;
}
