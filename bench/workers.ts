/*
 * SSO handshakes with WORKERS=1 and WORKERS=2 (src/cluster.ts), one after the other on the
 * same data: throughput at saturation, latency, and the CPU each handshake cost the service
 * (the primary and its workers, from /proc) and Postgres.
 *
 *   npm run bench -- workers        (BENCH_DURATION=10 BENCH_CONNECTIONS=20)
 *
 * GET /sso/<metabase target>?return_to=/dashboard/1 with a live session, 1,000 users in turn,
 * as bench/sso.ts drives it. Figures are printed, never asserted.
 */
import type autocannon from 'autocannon';
import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import { SecretBox } from '../src/crypto/secret-box';
import { cpuDuring, load, postgresPids, printTable, processTree, runMain, seedSessions, setTargetSecret, sleep, startPostgres, startService } from './lib';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const USERS = 1000;
const METABASE = 'https://metabase.example.com';
const SECRET = 'bench-metabase-jwt-secret-0123456789abcdef';

async function main(): Promise<void> {
  const pg = await startPostgres();
  const secretsKey = randomBytes(32).toString('hex');
  try {
    // The schema comes from the first service's migrations.
    let service = await startService({ databaseUrl: pg.url, secretsKey, env: { DB_POOL_SIZE: '20' } });
    const [tenant] = await pg.query(`INSERT INTO tenants (slug, name) VALUES ('bench', 'Bench') RETURNING id`);
    const users = await pg.query<{ id: string }>(
      `INSERT INTO users (tenant_id, email, first_name, last_name) SELECT $1, 'user' || i || '@example.com', 'Bench', 'User' FROM generate_series(1, ${USERS}) i RETURNING id`,
      [tenant.id],
    );
    const [group] = await pg.query(`INSERT INTO groups (tenant_id, name) VALUES ($1, 'analysts') RETURNING id`, [tenant.id]);
    await pg.query(`INSERT INTO group_members (group_id, user_id, tenant_id) SELECT $1, id, $2 FROM users WHERE tenant_id = $2`, [group.id, tenant.id]);
    const [target] = await pg.query(`INSERT INTO targets (slug, kind, name, base_url, settings) VALUES ('mb', 'metabase', 'Metabase', $1, '{}') RETURNING id`, [METABASE]);
    await setTargetSecret(pg, new SecretBox(Buffer.from(secretsKey, 'hex')), target.id, SECRET);
    await pg.query(`INSERT INTO tenant_target_access (tenant_id, target_id, group_mappings) VALUES ($1, $2, '{"analysts":["Analysts"]}')`, [tenant.id, target.id]);
    const cookies = await seedSessions(pg, tenant.id, users);
    await pg.query('ANALYZE');
    let next = 0;
    const requests: autocannon.Request[] = [
      { method: 'GET', path: '/sso/mb?return_to=/dashboard/1', setupRequest: (req) => ({ ...req, headers: { ...req.headers, cookie: cookies[next++ % cookies.length] } }) },
    ];
    const rows: Record<string, string | number>[] = [];
    const loadBefore = os.loadavg()[0];
    for (const workers of [1, 2]) {
      if (workers > 1) {
        await service.stop();
        service = await startService({ databaseUrl: pg.url, secretsKey, env: { DB_POOL_SIZE: '20', WORKERS: String(workers) } });
      }
      await load({ url: service.baseUrl, requests, connections: CONNECTIONS, duration: 3 }); // warm-up
      await sleep(500);
      const tree = processTree(service.pid);
      const svc = await cpuDuring(() => tree, async () => cpuDuring(() => postgresPids(pg), () => load({ url: service.baseUrl, requests, connections: CONNECTIONS, duration: DURATION })));
      const r = svc.result.result;
      const redirects = r.statusCounts['302'] ?? 0;
      rows.push({
        WORKERS: workers,
        processes: tree.length,
        'handshakes/s': r.rps,
        'p50 ms': r.p50,
        'p99 ms': r.p99,
        'non-302': r.requests - redirects,
        'service CPU ms/handshake': ((svc.cpu * 1000) / r.requests).toFixed(3),
        'Postgres CPU ms/handshake': ((svc.result.cpu * 1000) / r.requests).toFixed(3),
      });
    }
    await service.stop();
    printTable(`SSO handshakes by WORKERS, ${CONNECTIONS} connections, ${DURATION} s each`, rows);
    console.log(`\n2 workers vs 1: ${(Number(rows[1]['handshakes/s']) / Number(rows[0]['handshakes/s'])).toFixed(2)}x`);
    console.log(`load average (1 min) before the runs: ${loadBefore.toFixed(2)}, after: ${os.loadavg()[0].toFixed(2)} on ${os.cpus().length} cores`);
  } finally {
    await pg.stop();
  }
}

runMain(main);
