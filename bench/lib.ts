/*
 * Benchmark helpers. The service under test runs as its own process (as in production);
 * the load generator (autocannon) runs in this process, so on a 2-core machine each gets a
 * core. Figures are printed, never asserted.
 */
import autocannon from 'autocannon';
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { SecretBox } from '../src/crypto/secret-box';
import { randomToken, sha256Hex } from '../src/crypto/tokens';
import { targetSecretContext } from '../src/catalog/target-secrets';
import { startEmbeddedPostgres } from '../src/database/embedded-postgres';
import { freePort } from '../test/setup/global-setup';
import { serviceBuild } from '../test/support/service-build';

export const ROOT = path.resolve(__dirname, '..');
export { freePort };

export interface Pg {
  url: string;
  query<T = any>(sql: string, params?: unknown[]): Promise<T[]>;
  stop(): Promise<void>;
}

/** A fresh database: on DATABASE_URL's server when set, else an embedded cluster in a temp dir. */
export async function startPostgres(): Promise<Pg> {
  const name = `bench_${randomBytes(4).toString('hex')}`;
  let serverUrl = process.env.DATABASE_URL;
  let stopCluster = async () => undefined as void;
  if (!serverUrl) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'embed-idp-bench-'));
    fs.chmodSync(dir, 0o755);
    // BENCH_PG_STATS=1: load pg_stat_statements, for a per-statement breakdown (pgStatements).
    const extraFlags = process.env.BENCH_PG_STATS === '1' ? ['-c', 'shared_preload_libraries=pg_stat_statements', '-c', 'pg_stat_statements.track_planning=on'] : [];
    const pg = await startEmbeddedPostgres({ dir: path.join(dir, 'pg'), port: await freePort(), persistent: false, extraFlags });
    serverUrl = pg.adminUrl;
    stopCluster = async () => {
      await pg.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    };
  }
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  const client = new Client({ connectionString: url });
  await client.connect();
  if (process.env.BENCH_PG_STATS === '1') await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  return {
    url,
    async query(sql, params) {
      return (await client.query(sql, params as unknown[])).rows;
    },
    async stop() {
      await client.end();
      if (process.env.DATABASE_URL) {
        const a = new Client({ connectionString: serverUrl });
        await a.connect();
        await a.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        await a.end();
      }
      await stopCluster();
    },
  };
}

export interface Service {
  baseUrl: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Spawns the service compiled to JavaScript (`node <build>/src/main.js`, as the image runs
 * `node dist/src/main.js`) with production settings against `databaseUrl`, and waits until
 * /health/ready answers. Migrations run at its start. Not ts-node: its process also holds the
 * TypeScript compiler in its heap, which every garbage collection then walks.
 * BENCH_TS_NODE=1 runs `src/main.ts` through ts-node instead (as `npm start` does).
 */
export async function startService(opts: { databaseUrl: string; env?: Record<string, string>; secretsKey?: string }): Promise<Service> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  // BENCH_NODE_ARGS: node flags for the service, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`
  // (node refuses --cpu-prof in NODE_OPTIONS).
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const entry = process.env.BENCH_TS_NODE === '1' ? ['-r', 'ts-node/register/transpile-only', 'src/main.ts'] : [serviceBuild()];
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, ...entry], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      PORT: String(port),
      PUBLIC_URL: baseUrl,
      DATABASE_URL: opts.databaseUrl,
      SECRETS_KEY: opts.secretsKey ?? randomBytes(32).toString('hex'),
      // The production default (info) unless BENCH_LOG_LEVEL says otherwise: what operators run.
      ...(process.env.BENCH_LOG_LEVEL ? { LOG_LEVEL: process.env.BENCH_LOG_LEVEL } : {}),
      ...opts.env,
    },
    // The JSON log (stdout) would drown the figures; start-up failures are printed on stderr.
    stdio: ['ignore', process.env.BENCH_SERVICE_LOG === '1' ? 'inherit' : 'pipe', 'inherit'],
  });
  // WORKERS=N: ready once the primary says every worker listens (the first answers before).
  let workersUp = !(Number(opts.env?.WORKERS ?? 1) > 1);
  child.stdout?.on('data', (b: Buffer) => {
    if (/workers listening/.test(b.toString())) workersUp = true;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 240_000;
  for (;;) {
    const state = await Promise.race([exited.then(() => 'exited' as const), sleep(250).then(() => 'tick' as const)]);
    if (state === 'exited') throw new Error('the service exited during start-up (see its output above)');
    try {
      const r = await fetch(`${baseUrl}/health/ready`);
      if (r.ok && workersUp) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('the service did not become ready within 240 s');
    }
  }
  return {
    baseUrl,
    pid: child.pid!,
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface LoadOptions {
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Per-request variation (e.g. rotate sessions): autocannon's requests array. */
  requests?: autocannon.Request[];
  connections?: number;
  /** Seconds. */
  duration?: number;
  /** Stop after this many requests instead of a duration. */
  amount?: number;
  /** Requests per second over all connections (a fixed arrival rate); unset: as fast as answered. */
  overallRate?: number;
}

export interface LoadResult {
  requests: number;
  durationSeconds: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  errors: number;
  timeouts: number;
  statusCounts: Record<string, number>;
}

/** Drives HTTP load with autocannon (redirects are not followed: a 302 is a result). */
export async function load(o: LoadOptions): Promise<LoadResult> {
  const r = await autocannon({
    url: o.url,
    method: o.method ?? 'GET',
    headers: o.headers,
    body: o.body,
    requests: o.requests,
    connections: o.connections ?? 20,
    // autocannon refuses a `duration` key that is present but undefined.
    ...(o.amount ? { amount: o.amount } : { duration: o.duration ?? 10 }),
    ...(o.overallRate ? { overallRate: o.overallRate } : {}),
    timeout: 30,
  });
  const statusCounts: Record<string, number> = {};
  for (const [code, s] of Object.entries(r.statusCodeStats ?? {})) statusCounts[code] = (s as { count: number }).count;
  const seconds = r.duration;
  const requests = r.requests.total;
  return {
    requests,
    durationSeconds: seconds,
    rps: requests / seconds,
    p50: r.latency.p50,
    p90: r.latency.p90,
    p99: r.latency.p99,
    max: r.latency.max,
    errors: r.errors,
    timeouts: r.timeouts,
    statusCounts,
  };
}

export function printTable(title: string, rows: Record<string, string | number>[]): void {
  console.log(`\n${title}`);
  if (!rows.length) return;
  const cols = Object.keys(rows[0]);
  const cell = (v: string | number) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(1)) : v);
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c] ?? '').length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i])).join('  ');
  console.log(line(cols));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(cols.map((c) => cell(r[c] ?? ''))));
}

/**
 * With BENCH_PG_STATS=1: `reset()` before a run, `print(requests)` after it prints each
 * statement's calls, rows and time (planning + execution, wall clock inside Postgres) per
 * request of the run, biggest first.
 */
export function pgStatements(pg: Pg) {
  const on = process.env.BENCH_PG_STATS === '1';
  return {
    async reset() {
      if (on) await pg.query('SELECT pg_stat_statements_reset()');
    },
    async print(title: string, requests: number) {
      if (!on) return;
      const rows = await pg.query<{ calls: string; rows: string; plan: number; exec: number; query: string }>(
        `SELECT calls, rows, total_plan_time AS plan, total_exec_time AS exec, regexp_replace(query, '\\s+', ' ', 'g') AS query
           FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
          ORDER BY total_plan_time + total_exec_time DESC`,
      );
      // Every statement counts towards the round trips; only the biggest are listed.
      const calls = rows.filter((r) => !/pg_stat_statements/.test(r.query)).reduce((a, r) => a + Number(r.calls), 0);
      console.log(`\n${title}: ${(calls / requests).toFixed(2)} statements per request in all (BEGIN and COMMIT included)`);
      printTable(`${title}: Postgres statements per request (pg_stat_statements)`, rows.slice(0, 14).map((r) => ({
        'calls/req': (Number(r.calls) / requests).toFixed(3),
        'rows/call': (Number(r.rows) / Number(r.calls)).toFixed(1),
        'ms/req': ((r.plan + r.exec) / requests).toFixed(3),
        'plan ms/req': (r.plan / requests).toFixed(3),
        statement: r.query.slice(0, 90),
      })));
    },
  };
}

/**
 * A live session (one day) for each user, inserted as SessionsService.create stores it (the
 * SHA-256 of the cookie's token); returns each one's `Cookie` header value, in order.
 */
export async function seedSessions(pg: Pg, tenantId: string, users: { id: string }[]): Promise<string[]> {
  const cookies: string[] = [];
  for (const u of users) {
    const token = randomToken(32);
    cookies.push(`eidp_session=${token}`);
    await pg.query(`INSERT INTO sessions (id, user_id, tenant_id, expires_at) VALUES ($1, $2, $3, now() + interval '1 day')`, [sha256Hex(token), u.id, tenantId]);
  }
  return cookies;
}

/** Seals `secret` as the target's secret `name`, as the admin API stores it. */
export async function setTargetSecret(pg: Pg, box: SecretBox, targetId: string, secret: string, name = 'secret'): Promise<void> {
  await pg.query(`UPDATE targets SET secrets = secrets || jsonb_build_object($2::text, $3::text) WHERE id = $1`, [targetId, name, box.seal(secret, targetSecretContext(targetId, name))]);
}

const CLK_TCK = 100; // Linux USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s

/** CPU seconds (user + system) used so far by each of these processes (Linux /proc). */
export function cpuSeconds(pids: number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(pid, (Number(fields[11]) + Number(fields[12])) / CLK_TCK);
    } catch {
      /* exited */
    }
  }
  return out;
}

/** The Postgres processes serving `pg`'s database (its backends) and the cluster's own workers. */
export async function postgresPids(pg: Pg): Promise<number[]> {
  const rows = await pg.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() OR datname IS NULL`);
  return rows.map((r) => r.pid);
}

/**
 * Measures the CPU a run costs: `during` runs, and the CPU seconds the given processes used
 * meanwhile are returned (a process that appeared during the run counts whole).
 */
export async function cpuDuring<T>(pids: () => Promise<number[]> | number[], during: () => Promise<T>): Promise<{ result: T; cpu: number }> {
  const before = cpuSeconds(await pids());
  const result = await during();
  const after = cpuSeconds(await pids());
  let cpu = 0;
  for (const [pid, t] of after) cpu += t - (before.get(pid) ?? 0);
  return { result, cpu };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Runs a bench file's main when executed directly, with a clean exit code. */
export function runMain(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}

export interface PacedOptions {
  baseUrl: string;
  /** Requests per second, sent at evenly spaced times whatever the answers do (open loop). */
  rate: number;
  /** Seconds. */
  duration: number;
  /** At most this many requests in flight (keep-alive sockets); a request due when all are busy waits for one. */
  connections: number;
  /** The i-th request. */
  request(i: number): { method: 'GET' | 'POST'; path: string; headers?: Record<string, string>; body?: string };
}

export interface PacedResult {
  sent: number;
  durationSeconds: number;
  /** Answers per second over the run. */
  rps: number;
  /** Latency from each request's scheduled time (so a late send counts against it: no coordinated omission), ms. */
  p50: number;
  p99: number;
  max: number;
  /** Latency from the moment the request was written, ms. */
  wireP50: number;
  wireP99: number;
  errors: number;
  statusCounts: Record<string, number>;
  /** Per SERIES_SECONDS of due time: p50, p99 and max latency from the due time, ms (where the slow ones were). */
  series: { fromSecond: number; p50: number; p99: number; max: number }[];
}

/** The width of PacedResult.series' windows. */
const SERIES_SECONDS = 5;

/**
 * A fixed arrival rate, as visitors make one: request i is due at start + i/rate and is sent
 * then (a 1 ms tick sends every request that has come due), whether or not earlier ones were
 * answered. autocannon's `overallRate` does not do this — each connection sends its share of
 * a second back to back as soon as the second starts and then idles, so 1,000/s over 100
 * connections is a burst of 1,000 requests at 100 in flight every second — and it measured
 * the burst, not the rate.
 */
export async function paced(o: PacedOptions): Promise<PacedResult> {
  const http = await import('node:http');
  // FIFO: every kept-alive socket is used in turn, so none idles past the server's keep-alive
  // timeout (LIFO, Node's default, lets the least used ones idle until the server closes them,
  // and a request written on one in that instant fails: the keep-alive race, not the service).
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.connections, scheduling: 'fifo' });
  const url = new URL(o.baseUrl);
  const total = Math.round(o.rate * o.duration);
  const fromDue: number[] = [];
  const fromWire: number[] = [];
  const dueAt: number[] = [];
  const statusCounts: Record<string, number> = {};
  let errors = 0;
  const errorKinds: Record<string, number> = {};
  let sent = 0;
  let settled = 0;
  const start = performance.now();
  await new Promise<void>((done) => {
    const send = (i: number, due: number) => {
      const r = o.request(i);
      const req = http.request(
        { agent, host: url.hostname, port: url.port, method: r.method, path: r.path, headers: { ...r.headers, ...(r.body ? { 'content-length': Buffer.byteLength(r.body) } : {}) } },
        (res) => {
          res.resume();
          res.on('end', () => {
            const now = performance.now();
            fromDue.push(now - due);
            dueAt.push(due - start);
            fromWire.push(now - (req as unknown as { wroteAt: number }).wroteAt);
            statusCounts[res.statusCode ?? 0] = (statusCounts[res.statusCode ?? 0] ?? 0) + 1;
            if (++settled === total) done();
          });
        },
      );
      req.on('socket', () => ((req as unknown as { wroteAt: number }).wroteAt = performance.now()));
      req.on('error', (e) => {
        errors++;
        errorKinds[e.message] = (errorKinds[e.message] ?? 0) + 1;
        if (++settled === total) done();
      });
      req.end(r.body);
    };
    const tick = () => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - start) * o.rate) / 1000) + 1);
      while (sent < due) {
        send(sent, start + (sent * 1000) / o.rate);
        sent++;
      }
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  if (errors) console.log(`connection errors: ${JSON.stringify(errorKinds)}`);
  const pct = (xs: number[], p: number) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
  };
  return {
    sent,
    durationSeconds: seconds,
    rps: (settled - errors) / seconds,
    p50: pct(fromDue, 50),
    p99: pct(fromDue, 99),
    max: pct(fromDue, 100),
    wireP50: pct(fromWire, 50),
    wireP99: pct(fromWire, 99),
    errors,
    statusCounts,
    series: windows(dueAt, fromDue).map((w, i) => ({ fromSecond: i * SERIES_SECONDS, p50: pct(w, 50), p99: pct(w, 99), max: pct(w, 100) })),
  };
}

/** Latencies grouped by SERIES_SECONDS windows of their due time. */
function windows(dueAt: number[], latency: number[]): number[][] {
  const out: number[][] = [];
  dueAt.forEach((at, i) => (out[Math.floor(at / 1000 / SERIES_SECONDS)] ??= []).push(latency[i]));
  return Array.from(out, (w) => w ?? []);
}

/** A process and its children (Linux /proc): the service's primary and its WORKERS. */
export function processTree(pid: number): number[] {
  try {
    const kids = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    return [pid, ...kids.flatMap((k) => processTree(k).filter((p) => p !== pid))];
  } catch {
    return [pid];
  }
}
