/*
 * Host-app hand-offs per second: JIT off (known users) and JIT on (every hand-off creates
 * its user), side by side with `npm run bench` 's login and SSO figures.
 *
 *   npx ts-node --transpile-only bench/handoff.ts     (BENCH_DURATION=10 BENCH_CONNECTIONS=20)
 *
 * The service (its own process, production settings): POST /sso/<metabase target> as a host
 * page auto-submits it — form body with a fresh assertion — answered by the hand-off fast path
 * in front of Express (src/issuance/handoff-fast-path.ts). Per hand-off (JIT off), five
 * statements, each shared by concurrent hand-offs (batched): the trusted issuers by iss with
 * the tenant's hand-off switches and secrets (one read, src/inbound/issuer-lookup.ts), HS256
 * verify (cached key, node:crypto HMAC), the jti claim + user lookup, the target precheck
 * with the owners of the user's email on each BI instance (the handshake's read, reused by
 * the handshake), session + revocation + audit, then the handshake's record, sign, 302.
 * JIT on adds the user's creation through UsersService. The same run measures the handshake
 * with a live session first, for the ratio; BENCH_PG_STATS=1 prints the statements per
 * hand-off. `SSO_FAST_PATH=off npm run bench -- handoff` measures both through the full pipeline.
 * Each run also prints the CPU per request of the service and of Postgres (/proc): on a
 * shared machine req/s follows the neighbours, CPU per request much less.
 * Assertions are signed here before the run (the host app's work is not what is measured).
 * Figures are printed, not asserted.
 */
import type autocannon from 'autocannon';
import jwt from 'jsonwebtoken';
import { createSecretKey, randomBytes, randomUUID } from 'node:crypto';
import { SecretBox } from '../src/crypto/secret-box';
import * as os from 'node:os';
import { cpuDuring, cpuSeconds, load, LoadResult, pgStatements, postgresPids, printTable, runMain, seedSessions, setTargetSecret, sleep, startPostgres, startService } from './lib';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const USERS = 1000;
const METABASE = 'https://metabase.example.com';
const MB_SECRET = 'bench-metabase-jwt-secret-0123456789abcdef';
const SECRET = 'bench-handoff-secret-0123456789abcdef0123';
/** More than a run can use, so every request carries an unused assertion. */
const PREPARED = 40_000;

async function main(): Promise<void> {
  const pg = await startPostgres();
  const secretsKey = randomBytes(32).toString('hex');
  // SSO_FAST_PATH=off: the same runs through the full Express/Nest pipeline (an A/B of the fast paths).
  const fastPath: Record<string, string> = process.env.SSO_FAST_PATH ? { SSO_FAST_PATH: process.env.SSO_FAST_PATH } : {};
  const service = await startService({ databaseUrl: pg.url, secretsKey, env: { DB_POOL_SIZE: '20', ...fastPath } });
  try {
    const box = new SecretBox(Buffer.from(secretsKey, 'hex'));
    const [tenant] = await pg.query(`INSERT INTO tenants (slug, name) VALUES ('bench', 'Bench') RETURNING id`);
    const users = await pg.query<{ id: string }>(
      `INSERT INTO users (tenant_id, email, first_name, last_name) SELECT $1, 'user' || i || '@example.com', 'Bench', 'User' FROM generate_series(1, ${USERS}) i RETURNING id`,
      [tenant.id],
    );
    const [group] = await pg.query(`INSERT INTO groups (tenant_id, name) VALUES ($1, 'analysts') RETURNING id`, [tenant.id]);
    await pg.query(`INSERT INTO group_members (group_id, user_id, tenant_id) SELECT $1, id, $2 FROM users WHERE tenant_id = $2`, [group.id, tenant.id]);
    const secretId = randomUUID();
    await pg.query(`INSERT INTO handoff_secrets (id, tenant_id, secret_enc) VALUES ($1, $2, $3)`, [secretId, tenant.id, box.seal(SECRET, `handoff:${tenant.id}:${secretId}`)]);
    const [target] = await pg.query(`INSERT INTO targets (slug, kind, name, base_url, settings) VALUES ('mb', 'metabase', 'Metabase', $1, '{}') RETURNING id`, [METABASE]);
    await setTargetSecret(pg, box, target.id, MB_SECRET);
    await pg.query(`INSERT INTO tenant_target_access (tenant_id, target_id, group_mappings) VALUES ($1, $2, '{"analysts":["Analysts"]}')`, [tenant.id, target.id]);
    // The handshake the hand-off continues into, with a live session (bench/sso.ts's run):
    // the ratio below compares the two in the same run, on the same machine state.
    const cookies = await seedSessions(pg, tenant.id, users);
    await pg.query('ANALYZE');
    const stats = pgStatements(pg);

    const key = createSecretKey(Buffer.from(SECRET, 'utf8'));
    const sign = (email: string) => {
      const now = Math.floor(Date.now() / 1000);
      return jwt.sign({ iss: 'bench', iat: now, exp: now + 300, jti: randomUUID(), email, groups: ['analysts'] }, key, { algorithm: 'HS256' });
    };
    const bodies = (emailOf: (i: number) => string) =>
      Array.from({ length: PREPARED }, (_, i) => new URLSearchParams({ assertion: sign(emailOf(i)), return_to: '/dashboard/1' }).toString());
    // CPU per request, of the service and of Postgres: steadier than req/s on a shared machine.
    const measured = async (during: () => Promise<LoadResult>) => {
      const svcBefore = cpuSeconds([service.pid]).get(service.pid) ?? 0;
      const { result, cpu } = await cpuDuring(() => postgresPids(pg), during);
      const svc = (cpuSeconds([service.pid]).get(service.pid) ?? 0) - svcBefore;
      return { ...result, cpuMs: (svc * 1000) / result.requests, pgCpuMs: (cpu * 1000) / result.requests };
    };
    const run = async (label: string, prepared: string[], duration: number) => {
      let next = 0;
      const requests: autocannon.Request[] = [
        {
          method: 'POST',
          path: '/sso/mb',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          setupRequest: (req) => ({ ...req, body: prepared[next++ % prepared.length] }),
        },
      ];
      const r = await measured(() => load({ url: service.baseUrl, requests, connections: CONNECTIONS, duration }));
      if (next > prepared.length) console.warn(`${label}: ran out of fresh assertions (replays counted as 401)`);
      return r;
    };
    const setJit = (on: boolean) =>
      pg.query(
        `INSERT INTO handoff_settings (tenant_id, jit_provisioning, sync_groups) VALUES ($1, $2, false)
         ON CONFLICT (tenant_id) DO UPDATE SET jit_provisioning = $2`,
        [tenant.id, on],
      );

    const first = await fetch(`${service.baseUrl}/sso/mb`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ assertion: sign('user1@example.com'), return_to: '/dashboard/1' }).toString(),
    });
    if (first.status !== 302 || !(first.headers.get('location') ?? '').startsWith(`${METABASE}/auth/sso?jwt=`)) throw new Error(`sanity: ${first.status}`);

    const rows: Record<string, string | number>[] = [];
    const row = (name: string, r: LoadResult & { cpuMs: number; pgCpuMs: number }, note: string) => ({
      run: name,
      'req/s': r.rps,
      p50: r.p50,
      p99: r.p99,
      'CPU ms/req': r.cpuMs.toFixed(2),
      'pg CPU ms/req': r.pgCpuMs.toFixed(2),
      // (not named '302': an integer-like key would be printed as the first column)
      redirects: r.statusCounts['302'] ?? 0,
      other: r.requests - (r.statusCounts['302'] ?? 0),
      note,
    });
    await setJit(false);
    await run('warm-up', bodies((i) => `user${(i % USERS) + 1}@example.com`), 3);
    await sleep(500);
    const loadBefore = os.loadavg()[0];
    let nextCookie = 0;
    const sso = await measured(() =>
      load({
        url: service.baseUrl,
        requests: [{ method: 'GET', path: '/sso/mb?return_to=/dashboard/1', setupRequest: (req) => ({ ...req, headers: { ...req.headers, cookie: cookies[nextCookie++ % cookies.length] } }) }],
        connections: CONNECTIONS,
        duration: DURATION,
      }),
    );
    rows.push(row('SSO handshake (live session)', sso, 'the reference'));
    await sleep(500);
    const offBodies = bodies((i) => `user${(i % USERS) + 1}@example.com`);
    await stats.reset();
    const off = await run('JIT off', offBodies, DURATION);
    await stats.print('JIT off', off.requests);
    rows.push(row('JIT off (known users)', off, `${USERS} users in turn; ${(off.rps / sso.rps).toFixed(2)}x the handshake`));
    await sleep(500);
    await setJit(true);
    const onBodies = bodies(() => `new-${randomUUID()}@example.com`);
    const usersBefore = Number((await pg.query(`SELECT count(*) AS n FROM users`))[0].n);
    await stats.reset();
    const on = await run('JIT on', onBodies, DURATION);
    await stats.print('JIT on', on.requests);
    await sleep(500);
    const created = Number((await pg.query(`SELECT count(*) AS n FROM users`))[0].n) - usersBefore;
    rows.push(row('JIT on (each creates its user)', on, `${created} users created; ${(on.rps / sso.rps).toFixed(2)}x the handshake`));
    printTable(`Host-app hand-offs (POST /sso/<target>, fresh assertion each), ${CONNECTIONS} connections, ${DURATION} s per run`, rows);
    console.log(`load average (1 min) before the runs: ${loadBefore.toFixed(2)}, after: ${os.loadavg()[0].toFixed(2)} on ${os.cpus().length} cores`);
    const replays = Number((await pg.query(`SELECT count(*) AS n FROM audit_events WHERE type = 'handoff.replay'`))[0].n);
    console.log(`\nreplays refused during the runs: ${replays} (0 expected: every request had a fresh assertion)`);
  } finally {
    await service.stop();
    await pg.stop();
  }
}

runMain(main);
