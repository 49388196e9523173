/*
 * The Databricks token broker: dashboard tokens per second for signed-in users, and how many
 * step-1 (service principal, all-apis) calls Databricks sees.
 *
 *   npm run bench -- broker        (BENCH_DURATION=10 BENCH_CONNECTIONS=20)
 *
 * GET /embed/dbx/databricks/<dashboard>/token with a session cookie of one of 1,000 users:
 * session read, target/access read, step 2 and step 3 against a fake workspace
 * (test/fakes/databricks.ts, in this process, next to autocannon), the token + audit
 * statement. The all-apis token of step 1 is shared per target: with a warm cache a run
 * should make no step-1 call at all; a burst on a cold target exactly one; a target whose
 * service token lives 62 s (renewed 60 s early, so every ~2 s) one per window.
 * Figures are printed, not asserted.
 */
import type autocannon from 'autocannon';
import { randomBytes } from 'node:crypto';
import { SecretBox } from '../src/crypto/secret-box';
import { FakeDatabricks, startFakeDatabricks } from '../test/fakes/databricks';
import { load, printTable, runMain, seedSessions, setTargetSecret, sleep, startPostgres, startService } from './lib';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const USERS = 1000;
const CLIENT_ID = 'bench-sp-client-id';
const CLIENT_SECRET = 'bench-sp-secret-0a1b2c3d4e5f6a7b8c9d';
const DASH = '01efbench0000000000000000000000aa';

async function main(): Promise<void> {
  const pg = await startPostgres();
  const secretsKey = randomBytes(32).toString('hex');
  // The service runs as in production, where outbound calls reach public addresses only: the
  // fake workspace is on loopback, so it is allowed explicitly. A few sessions stand in for
  // many users here, so the per-session handshake limit is lifted (it is not what is measured).
  const service = await startService({
    databaseUrl: pg.url,
    secretsKey,
    env: { DB_POOL_SIZE: '20', OUTBOUND_ALLOW_PRIVATE: '127.0.0.0/8', SSO_SESSION_BURST: '100000', SSO_SESSION_RATE: '100000' },
  });
  const fakes: FakeDatabricks[] = [];
  try {
    const box = new SecretBox(Buffer.from(secretsKey, 'hex'));
    const [tenant] = await pg.query(`INSERT INTO tenants (slug, name, attributes) VALUES ('bench', 'Bench', '{"customer":"acme"}') RETURNING id`);
    const users = await pg.query<{ id: string }>(
      `INSERT INTO users (tenant_id, email, first_name, last_name, attributes)
       SELECT $1, 'user' || i || '@example.com', 'Bench', 'User', jsonb_build_object('customer', 'c' || (i % 50)) FROM generate_series(1, ${USERS}) i
       RETURNING id`,
      [tenant.id],
    );
    const cookies = await seedSessions(pg, tenant.id, users);
    const workspace = async (slug: string, serviceTokenTtl?: number) => {
      const fake = await startFakeDatabricks({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, dashboards: [DASH], serviceTokenTtl });
      fakes.push(fake);
      const [target] = await pg.query(
        `INSERT INTO targets (slug, kind, name, base_url, settings) VALUES ($1, 'databricks', $1, $2, $3) RETURNING id`,
        [slug, fake.url, JSON.stringify({ workspaceId: '1234567890123456', clientId: CLIENT_ID })],
      );
      await setTargetSecret(pg, box, target.id, CLIENT_SECRET);
      await pg.query(`INSERT INTO tenant_target_access (tenant_id, target_id, settings) VALUES ($1, $2, '{"externalValueAttribute":"customer"}')`, [tenant.id, target.id]);
      return fake;
    };
    // The same users' SSO handshake on a Metabase target, run alongside: a ratio that holds
    // whatever else the machine is doing (two network calls to the workspace vs none).
    const [mb] = await pg.query(`INSERT INTO targets (slug, kind, name, base_url, settings) VALUES ('mb', 'metabase', 'mb', 'https://metabase.example.com', '{}') RETURNING id`);
    await setTargetSecret(pg, box, mb.id, 'bench-metabase-jwt-secret-0123456789abcdef');
    await pg.query(`INSERT INTO tenant_target_access (tenant_id, target_id) VALUES ($1, $2)`, [tenant.id, mb.id]);
    const warm = await workspace('dbx');
    const cold = await workspace('dbx-cold');
    const renewing = await workspace('dbx-renew', 62);
    await pg.query('ANALYZE');

    let next = 0;
    const requests = (slug: string): autocannon.Request[] => [
      { method: 'GET', path: `/embed/${slug}/databricks/${DASH}/token`, setupRequest: (req) => ({ ...req, headers: { ...req.headers, cookie: cookies[next++ % cookies.length] } }) },
    ];
    const check = await fetch(`${service.baseUrl}/embed/dbx/databricks/${DASH}/token`, { headers: { cookie: cookies[0] } });
    if (check.status !== 200) throw new Error(`broker answered ${check.status} ${await check.text()}`);

    // Warm-up (JIT, pools, the shared all-apis token), not reported.
    await load({ url: service.baseUrl, requests: requests('dbx'), connections: CONNECTIONS, duration: 3 });
    await sleep(500);

    const rows: Record<string, string | number>[] = [];
    const run = async (name: string, slug: string, fake: FakeDatabricks, opts: { duration?: number; amount?: number }) => {
      const before = { ...fake.calls };
      const tokensBefore = Number((await pg.query(`SELECT count(*) AS n FROM issued_tokens`))[0].n);
      const r = await load({ url: service.baseUrl, requests: requests(slug), connections: CONNECTIONS, ...opts });
      await sleep(300);
      const recorded = Number((await pg.query(`SELECT count(*) AS n FROM issued_tokens`))[0].n) - tokensBefore;
      const step1 = fake.calls.service - before.service;
      rows.push({
        run: name,
        'tokens/s': r.rps,
        'p50 ms': r.p50,
        'p99 ms': r.p99,
        'answered 200': r.statusCounts['200'] ?? 0,
        'step-1 calls': step1,
        'step-3 calls': fake.calls.scoped - before.scoped,
        recorded,
      });
      return { r, step1 };
    };
    const w = await run(`warm cache, ${DURATION} s`, 'dbx', warm, { duration: DURATION });
    const c = await run(`cold target, burst of ${CONNECTIONS * 5}`, 'dbx-cold', cold, { amount: CONNECTIONS * 5 });
    const n = await run(`service token renewed every ~2 s, ${DURATION} s`, 'dbx-renew', renewing, { duration: DURATION });

    const ssoRequests: autocannon.Request[] = [
      { method: 'GET', path: '/sso/mb?return_to=/', setupRequest: (req) => ({ ...req, headers: { ...req.headers, cookie: cookies[next++ % cookies.length] } }) },
    ];
    const sso = await load({ url: service.baseUrl, requests: ssoRequests, connections: CONNECTIONS, duration: DURATION });
    rows.push({ run: `Metabase SSO handshake (for the ratio), ${DURATION} s`, 'tokens/s': sso.rps, 'p50 ms': sso.p50, 'p99 ms': sso.p99, 'answered 200': `${sso.statusCounts['302'] ?? 0} x 302`, 'step-1 calls': '-', 'step-3 calls': '-', recorded: '-' });

    printTable(`Databricks broker, ${CONNECTIONS} connections (fake workspace in the load process)`, rows);
    console.log(`\nwarm cache: ${w.r.rps.toFixed(0)} tokens/s with ${w.step1} step-1 calls for ${w.r.requests} tokens`);
    console.log(`broker / SSO handshake in the same run: ${(w.r.rps / sso.rps).toFixed(2)}x`);
    console.log(`cold burst: ${c.step1} step-1 call(s) for ${c.r.requests} concurrent tokens (single flight)`);
    console.log(`renewing: ${n.step1} step-1 calls in ${n.r.durationSeconds} s (one per ~2 s window), ${(n.r.requests / Math.max(1, n.step1)).toFixed(0)} tokens per step-1 call`);
  } finally {
    for (const f of fakes) await f.close();
    await service.stop();
    await pg.stop();
  }
}

runMain(main);
