/*
 * Bursts of parallel logins against the lockout and the per-IP limit.
 *
 *   npx ts-node --transpile-only bench/login-burst.ts      (BENCH_TRUST_PROXY=loopback)
 *
 * The service (its own process, production settings, LOGIN_LOCKOUT_THRESHOLD=10,
 * LOGIN_IP_LIMIT=20, TRUST_PROXY=loopback so each request names its client IP):
 * 1. one account, 100 parallel POST /login (99 wrong, the right one last), each from its own IP;
 * 2. one IP, 100 parallel POST /login on 100 accounts (the right password last);
 * 3. 300 parallel logins on 300 accounts from 300 IPs (more than the hash queue holds).
 * Meanwhile, in 1 and 3, one ordinary login (another account, another IP) is timed: what a
 * burst costs everybody else. "Service CPU" is the service process's user+system time over
 * the burst (/proc), about one argon2id verification's worth per verified attempt.
 * Figures are printed, not asserted.
 */
import { hash } from '@node-rs/argon2';
import * as fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { ARGON2_OPTIONS } from '../src/users/passwords.service';
import { printTable, runMain, startPostgres, startService } from './lib';

const PASSWORD = 'bench password, long enough 42';
const THRESHOLD = 10;
const IP_LIMIT = 20;

/** User + system CPU of a process, in ms (Linux /proc/<pid>/stat, clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function main(): Promise<void> {
  const pg = await startPostgres();
  const service = await startService({
    databaseUrl: pg.url,
    env: {
      TRUST_PROXY: process.env.BENCH_TRUST_PROXY ?? 'loopback',
      LOGIN_LOCKOUT_THRESHOLD: String(THRESHOLD),
      LOGIN_IP_LIMIT: String(IP_LIMIT),
      LOG_LEVEL: 'error',
    },
  });
  try {
    const passwordHash = await hash(PASSWORD, ARGON2_OPTIONS);
    const [tenant] = await pg.query(`INSERT INTO tenants (slug, name) VALUES ('bench', 'Bench') RETURNING id`);
    await pg.query(
      `INSERT INTO users (tenant_id, email, first_name, last_name, password_hash)
       SELECT $1, 'user' || i || '@example.com', 'Bench', 'User', $2 FROM generate_series(1, 800) i`,
      [tenant.id, passwordHash],
    );
    const page = await fetch(`${service.baseUrl}/login`);
    const cookie = `eidp_csrf=${/eidp_csrf=([^;]+)/.exec(page.headers.get('set-cookie') ?? '')![1]}`;
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())![1];
    const post = async (email: string, password: string, ip: string) => {
      const t0 = performance.now();
      const r = await fetch(`${service.baseUrl}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie, 'x-forwarded-for': ip },
        body: new URLSearchParams({ _csrf: csrf, tenant: 'bench', email, password }).toString(),
      });
      await r.arrayBuffer();
      return { status: r.status, ms: performance.now() - t0 };
    };
    const rows: Record<string, string | number>[] = [];
    const burst = async (name: string, attempts: (() => ReturnType<typeof post>)[], bystander?: () => ReturnType<typeof post>) => {
      const cpu0 = cpuMs(service.pid);
      const t0 = performance.now();
      const pending = attempts.map((a) => a());
      const other = bystander ? await bystander() : null;
      const results = await Promise.all(pending);
      const wall = performance.now() - t0;
      const count = (s: number) => results.filter((r) => r.status === s).length;
      rows.push({
        burst: name,
        attempts: results.length,
        got303: count(303),
        got401: count(401),
        got429: count(429),
        last: results[results.length - 1].status,
        wall_ms: wall,
        service_cpu_ms: cpuMs(service.pid) - cpu0,
        other_login_ms: other ? other.ms : '-',
        other_status: other ? other.status : '-',
      });
    };

    // Warm-up: one login, and the CPU of one verified attempt.
    await post('user400@example.com', PASSWORD, '10.255.0.1');
    const c0 = cpuMs(service.pid);
    for (let i = 0; i < 10; i++) await post('user399@example.com', PASSWORD, '10.255.0.2');
    const perLoginCpu = (cpuMs(service.pid) - c0) / 10;

    await burst(
      'one account, 99 wrong + 1 right',
      Array.from({ length: 100 }, (_, i) => () => post('user1@example.com', i === 99 ? PASSWORD : `wrong-${i}`, `10.1.${i >> 8}.${i & 255}`)),
      () => post('user398@example.com', PASSWORD, '10.254.0.1'),
    );
    await burst(
      'one IP, 100 accounts',
      Array.from({ length: 100 }, (_, i) => () => post(`user${i + 2}@example.com`, i === 99 ? PASSWORD : 'wrong-password', '10.2.0.1')),
    );
    await burst(
      '300 accounts, 300 IPs (right passwords)',
      Array.from({ length: 300 }, (_, i) => () => post(`user${i + 401}@example.com`, PASSWORD, `10.3.${i >> 8}.${i & 255}`)),
      () => post('user396@example.com', PASSWORD, '10.254.0.2'),
    );
    const [verified] = await pg.query(
      `SELECT count(*) FILTER (WHERE details->>'reason' = 'bad_password')::int AS bad_password,
              count(*) FILTER (WHERE details->>'reason' = 'locked')::int AS locked
         FROM audit_events WHERE type = 'login.failure' AND details->>'email' = 'user1@example.com'`,
    );
    printTable(`Login bursts (LOGIN_LOCKOUT_THRESHOLD=${THRESHOLD}, LOGIN_IP_LIMIT=${IP_LIMIT}); one login costs ~${perLoginCpu.toFixed(0)} ms of service CPU`, rows);
    console.log(`\none-account burst, audit: ${verified.bad_password} bad_password (verified), ${verified.locked} locked`);
  } finally {
    await service.stop();
    await pg.stop();
  }
}

runMain(main);
