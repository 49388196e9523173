/*
 * Password logins per second, and whether the event loop stays free while they run.
 *
 *   npx ts-node --transpile-only bench/login.ts     (BENCH_DURATION=15 BENCH_CONNECTIONS=16)
 *
 * The service (its own process, production settings): POST /login as a browser sends it —
 * form body with the CSRF field and cookie, full argon2id verification (m=19456, t=2, p=1,
 * on the libuv thread pool), session insert + audit event in one transaction, 303. Requests
 * rotate over 500 users. Meanwhile a paced probe (one GET /health/live every 20 ms, from
 * this process) measures what any other request waits while logins hash: that latency is
 * the event loop's. The same probe without load is the baseline.
 * Then, sequentially, the time of a failed login for an unknown email, a wrong password and
 * a correct one: the three must cost the same (one argon2id verification each).
 * Figures are printed, not asserted.
 */
import { hash } from '@node-rs/argon2';
import type autocannon from 'autocannon';
import * as os from 'node:os';
import { performance } from 'node:perf_hooks';
import { ARGON2_OPTIONS } from '../src/users/passwords.service';
import { load, printTable, runMain, sleep, startPostgres, startService } from './lib';

const DURATION = Number(process.env.BENCH_DURATION ?? 15);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const USERS = 500;
const PASSWORD = 'bench password, long enough 42';
const PROBE_INTERVAL_MS = 20;

interface Probe {
  stop(): Promise<{ count: number; p50: number; p99: number; max: number; failed: number }>;
}

/** One GET /health/live every PROBE_INTERVAL_MS, each timed on its own (not a closed loop). */
function startProbe(url: string): Probe {
  const times: number[] = [];
  const inFlight = new Set<Promise<void>>();
  let failed = 0;
  const timer = setInterval(() => {
    const t0 = performance.now();
    const p = fetch(url)
      .then(async (r) => {
        await r.arrayBuffer();
        if (r.status !== 200) failed++;
        else times.push(performance.now() - t0);
      })
      .catch(() => {
        failed++;
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  }, PROBE_INTERVAL_MS);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all(inFlight);
      return { count: times.length, ...percentiles(times), failed };
    },
  };
}

function percentiles(xs: number[]): { p50: number; p99: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => (s.length ? s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] : NaN);
  return { p50: at(0.5), p99: at(0.99), max: s.length ? s[s.length - 1] : NaN };
}

/** A browser's CSRF pair: the eidp_csrf cookie and the hidden field of the login page. */
async function csrfPair(baseUrl: string): Promise<{ cookie: string; field: string }> {
  const r = await fetch(`${baseUrl}/login`);
  const html = await r.text();
  const cookie = /eidp_csrf=([^;]+)/.exec(r.headers.get('set-cookie') ?? '')?.[1];
  const field = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
  if (!cookie || !field) throw new Error('no CSRF pair on the login page');
  return { cookie: `eidp_csrf=${cookie}`, field };
}

function form(csrf: string, email: string, password: string): string {
  return new URLSearchParams({ _csrf: csrf, tenant: 'bench', email, password }).toString();
}

async function main(): Promise<void> {
  const pg = await startPostgres();
  const service = await startService({
    databaseUrl: pg.url,
    // The bench comes from one IP: lift the per-IP limits (failures, attempts, hashes in
    // flight), keep everything else as shipped.
    env: { DB_POOL_SIZE: '20', LOGIN_IP_LIMIT: '1000000', LOGIN_IP_ATTEMPT_LIMIT: '100000000', LOGIN_IP_CONCURRENCY: '100000' },
  });
  try {
    // --- data: one tenant, USERS users with a real argon2id hash (the same one: the cost of a
    // verification does not depend on whose hash it is).
    const passwordHash = await hash(PASSWORD, ARGON2_OPTIONS);
    const [tenant] = await pg.query(`INSERT INTO tenants (slug, name) VALUES ('bench', 'Bench') RETURNING id`);
    await pg.query(
      `INSERT INTO users (tenant_id, email, first_name, last_name, password_hash)
       SELECT $1, 'user' || i || '@example.com', 'Bench', 'User', $2 FROM generate_series(1, ${USERS}) i`,
      [tenant.id, passwordHash],
    );
    await pg.query('ANALYZE');

    const csrf = await csrfPair(service.baseUrl);
    const post = (email: string, password: string) =>
      fetch(`${service.baseUrl}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: csrf.cookie },
        body: form(csrf.field, email, password),
      });
    // Sanity: a good login is a 303 with a session cookie, a bad one a 401.
    const ok = await post('user1@example.com', PASSWORD);
    if (ok.status !== 303 || !(ok.headers.get('set-cookie') ?? '').includes('eidp_session=')) throw new Error(`login answered ${ok.status}`);
    if ((await post('user1@example.com', 'wrong')).status !== 401) throw new Error('a wrong password was not refused');

    let next = 0;
    const requests: autocannon.Request[] = [
      {
        method: 'POST',
        path: '/login',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: csrf.cookie },
        setupRequest: (req) => ({ ...req, body: form(csrf.field, `user${(next++ % USERS) + 1}@example.com`, PASSWORD) }),
      },
    ];
    const health = `${service.baseUrl}/health/live`;

    // Warm-up (JIT, pools, caches), not reported.
    await load({ url: service.baseUrl, requests, connections: CONNECTIONS, duration: 3 });
    await sleep(500);

    const idleProbe = startProbe(health);
    await sleep(5000);
    const idle = await idleProbe.stop();

    const stormProbe = startProbe(health);
    const storm = await load({ url: service.baseUrl, requests, connections: CONNECTIONS, duration: DURATION });
    const during = await stormProbe.stop();
    const sessions = Number((await pg.query(`SELECT count(*) AS n FROM sessions`))[0].n);

    // --- one failure of each kind, in turn (no concurrency): the same argon2id work each.
    const kinds = { 'unknown email': [] as number[], 'wrong password': [] as number[], 'correct password': [] as number[] };
    await sleep(1000); // the storm's last requests drain first
    for (let i = -1; i < 30; i++) {
      const user = `user${401 + (i % 99)}@example.com`; // fresh accounts: far from any lockout
      for (const [kind, email, password] of [
        ['unknown email', `nobody${i}@example.com`, PASSWORD],
        ['wrong password', user, `${PASSWORD}!`],
        ['correct password', user, PASSWORD],
      ] as const) {
        const t0 = performance.now();
        const r = await post(email, password);
        await r.arrayBuffer();
        if (i >= 0) kinds[kind].push(performance.now() - t0); // round -1 is a warm-up
      }
    }

    const cpus = os.cpus().length;
    const logins = storm.statusCounts['303'] ?? 0;
    const rate = logins / storm.durationSeconds;
    printTable(`Logins (form POST, CSRF, argon2id m=19456 t=2), ${CONNECTIONS} connections, ${DURATION} s, ${cpus} cores`, [
      { run: 'login storm', 'logins/s': rate, 'per core': rate / cpus, p50_ms: storm.p50, p99_ms: storm.p99, errors: storm.errors + storm.timeouts, non303: storm.requests - logins },
    ]);
    printTable('GET /health/live, one probe every 20 ms', [
      { when: 'no load (baseline)', probes: idle.count, p50_ms: idle.p50, p99_ms: idle.p99, max_ms: idle.max, failed: idle.failed },
      { when: 'during the login storm', probes: during.count, p50_ms: during.p50, p99_ms: during.p99, max_ms: during.max, failed: during.failed },
    ]);
    printTable(
      'One login at a time: response time by outcome (the same for all: one argon2id verification each)',
      Object.entries(kinds).map(([kind, xs]) => {
        const p = percentiles(xs);
        return { outcome: kind, n: xs.length, p50_ms: p.p50, p99_ms: p.p99, max_ms: p.max };
      }),
    );
    console.log(`\nsessions created: ${sessions}`);
    console.log(
      `goal: >= 30 logins/s per core and health p99 < 10 ms during the storm -> ${rate / cpus >= 30 && during.p99 < 10 ? 'met' : 'NOT met'}`,
    );
  } finally {
    await service.stop();
    await pg.stop();
  }
}

runMain(main);
