/*
 * Tokens per second for each newer product, side by side with the Metabase handshake of the
 * same run: the same service process, tenant, 1,000 users with their own session, groups and
 * attributes, the same rotation of sessions and the same concurrency.
 *
 *   npm run bench -- products        (BENCH_DURATION=10 BENCH_CONNECTIONS=20)
 *
 * Each request is what the product's embedding asks of the service:
 * - Metabase (the reference): GET /sso/<target>?return_to=/dashboard/1 -> 302, HS256;
 * - Tableau: GET /embed/<target>/token -> {token}, HS256 (connected app);
 * - Qlik Cloud: GET /embed/<target>/token -> {token}, ES256 with the target's own key;
 * - Sigma: GET /embed/<target>/workbook/<id>?response=json -> {url}, HS256;
 * - Grafana: GET /sso/<target>?return_to=/d/x -> 302, ES256 with the target's own key;
 * - Looker: GET /embed/<target>/looker/dashboards/7?response=json -> {url}, an HMAC-SHA1 signed URL;
 * - Power BI: GET /embed/<target>/powerbi/<report>/token -> {token}, brokered from a fake
 *   Entra + Power BI API in this process (warm: one GenerateToken per token, no login);
 * - Apache Superset: GET /embed/<target>/superset/<uuid>/guest-token -> {token}, in sign mode
 *   (HS256, RLS clause filled) and in api mode (asked of a fake Superset, test/fakes/superset.ts,
 *   in this process next to autocannon; its upstream calls per token are printed).
 * Every one records its jti (and audits) before it answers. Metabase runs first and last
 * (its rate is the mean of the two), so a neighbour's load moving during the run shows.
 * Each run also prints the service's CPU per request (from /proc): on a shared machine
 * throughput moves with the neighbours, CPU per request much less. Figures are printed, not
 * asserted, with the load average.
 */
import type autocannon from 'autocannon';
import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import { SecretBox } from '../src/crypto/secret-box';
import { randomToken, sha256Hex } from '../src/crypto/tokens';
import { startFakePowerBi } from '../test/fakes/powerbi';
import { startFakeSuperset } from '../test/fakes/superset';
import { cpuSeconds, load, LoadResult, printTable, runMain, seedSessions, setTargetSecret, sleep, startPostgres, startService } from './lib';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const USERS = 1000;
const APP = 'https://host-app.example.com';
const SUPERSET_SECRET = 'bench-superset-guest-secret-0123456789abcdef';
const SUPERSET_PASSWORD = 'bench-superset-password-0123456789';
const SUPERSET_DASH = '9c1f6a52-3b7e-4d8a-a1c2-5e6f7a8b9c0d';

interface Product {
  name: string;
  path: string;
  /** The status of a minted token. */
  ok: number;
  note: string;
}

async function main(): Promise<void> {
  const pg = await startPostgres();
  const secretsKey = randomBytes(32).toString('hex');
  const service = await startService({ databaseUrl: pg.url, secretsKey, env: { DB_POOL_SIZE: '20', OUTBOUND_ALLOW_PRIVATE: '127.0.0.0/8' } });
  const PBI = { tenantId: '0b8e2c9a-6a7e-4a59-a5b1-1a2b3c4d5e6f', clientId: '6f1c2a44-1d1e-4c8e-9d6c-2a8b9c1d0e7f', clientSecret: 'bench-powerbi-secret-0123456789abcdef0123456789', workspaceId: 'be8908da-da25-452e-b220-163f52476cdd' };
  const PBI_REPORT = 'f6bfd646-b718-44dc-a378-b73e6b528204';
  const pbi = await startFakePowerBi({ ...PBI, reports: { [PBI_REPORT]: 'cfafbeb1-8037-4d0c-896e-a46fb27ff229' }, rlsDatasets: { 'cfafbeb1-8037-4d0c-896e-a46fb27ff229': ['Analysts'] } });
  const superset = await startFakeSuperset({
    guestTokenSecret: SUPERSET_SECRET,
    audience: 'superset',
    dashboards: { [SUPERSET_DASH]: [] },
    username: 'bench-superset',
    password: SUPERSET_PASSWORD,
    csrf: true,
  });
  try {
    console.log(`service pid ${service.pid}`);
    const [tenant] = await pg.query(`INSERT INTO tenants (slug, name, attributes) VALUES ('bench', 'Bench', '{"region":"emea","plan":"gold"}') RETURNING id`);
    const users = await pg.query<{ id: string }>(
      `INSERT INTO users (tenant_id, email, first_name, last_name, attributes)
       SELECT $1, 'user' || i || '@example.com', 'Bench', 'User', '{"role":"analyst"}' FROM generate_series(1, ${USERS}) i
       RETURNING id`,
      [tenant.id],
    );
    for (const g of ['analysts', 'staff']) {
      const [group] = await pg.query(`INSERT INTO groups (tenant_id, name) VALUES ($1, $2) RETURNING id`, [tenant.id, g]);
      await pg.query(`INSERT INTO group_members (group_id, user_id, tenant_id) SELECT $1, id, $2 FROM users WHERE tenant_id = $2`, [group.id, tenant.id]);
    }
    const box = new SecretBox(Buffer.from(secretsKey, 'hex'));
    // Shared-secret products: the row and its sealed secret, as the admin API stores them.
    const withSecret = async (slug: string, kind: string, baseUrl: string, settings: object, secretName = 'secret') => {
      const [target] = await pg.query(`INSERT INTO targets (slug, kind, name, base_url, settings) VALUES ($1, $2, $1, $3, $4) RETURNING id`, [slug, kind, baseUrl, JSON.stringify(settings)]);
      await setTargetSecret(pg, box, target.id, `bench-${kind}-secret-0123456789abcdef0123456789`, secretName);
      return target.id as string;
    };
    const mb = await withSecret('mb', 'metabase', 'https://metabase.example.com', {});
    const tb = await withSecret('tb', 'tableau', 'https://tableau.example.com', { clientId: '0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d', secretId: '9f8e7d6c-5b4a-3928-1706-f5e4d3c2b1a0', allowedOrigins: [APP] });
    const sg = await withSecret('sg', 'sigma', 'https://app.sigmacomputing.com', { clientId: 'sigma-embed-client-id-0001', organization: 'acme-analytics', allowedOrigins: [APP] });
    const lk = await withSecret('lk', 'looker', 'https://acme.cloud.looker.com', { models: ['thelook'], permissions: ['access_data', 'see_user_dashboards'], allowedOrigins: [APP] }, 'embedSecret');
    // Key-pair products: created through the admin API, which makes and seals their signing keys.
    const apiKey = `eidp_${randomToken(32)}`;
    await pg.query(`INSERT INTO api_keys (name, prefix, key_hash, tenant_id) VALUES ('bench', $1, $2, NULL)`, [apiKey.slice(0, 12), sha256Hex(apiKey)]);
    const viaApi = async (slug: string, kind: string, baseUrl: string, settings: object, secrets?: object) => {
      const r = await fetch(`${service.baseUrl}/api/v1/targets`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ slug, kind, baseUrl, settings, secrets }),
      });
      const body = (await r.json()) as { id?: string };
      if (r.status !== 201 || !body.id) throw new Error(`creating the ${kind} target answered ${r.status} ${JSON.stringify(body)}`);
      return body.id;
    };
    const ql = await viaApi('ql', 'qlik', 'https://acme.eu.qlikcloud.com', { issuer: 'https://idp.example.com', alg: 'ES256' });
    const gf = await viaApi('gf', 'grafana', 'https://grafana.example.com', { alg: 'ES256' });
    const pb = await withSecret('pb', 'powerbi', 'https://app.powerbi.com', { tenantId: PBI.tenantId, clientId: PBI.clientId, workspaceId: PBI.workspaceId, authorityHost: pbi.url, apiHost: pbi.url });
    await setTargetSecret(pg, box, pb, PBI.clientSecret);
    for (const id of [mb, tb, sg, ql, gf]) {
      await pg.query(`INSERT INTO tenant_target_access (tenant_id, target_id, group_mappings) VALUES ($1, $2, '{"analysts":["Analysts","Viewer"]}')`, [tenant.id, id]);
    }
    // Looker's group ids are numbers.
    await pg.query(`INSERT INTO tenant_target_access (tenant_id, target_id, group_mappings) VALUES ($1, $2, '{"analysts":["4"]}')`, [tenant.id, lk]);
    await pg.query(`INSERT INTO tenant_target_access (tenant_id, target_id, group_mappings, settings) VALUES ($1, $2, '{"analysts":["Analysts"]}', $3)`, [tenant.id, pb, JSON.stringify({ reports: [PBI_REPORT], rowLevelSecurity: true })]);
    const ssSign = await viaApi('sss', 'superset', superset.url, { mode: 'sign', audience: 'superset' }, { secret: SUPERSET_SECRET });
    const ssApi = await viaApi('ssa', 'superset', superset.url, { mode: 'api', username: 'bench-superset' }, { password: SUPERSET_PASSWORD });
    for (const id of [ssSign, ssApi]) {
      await pg.query(`INSERT INTO tenant_target_access (tenant_id, target_id, settings) VALUES ($1, $2, $3)`, [
        tenant.id,
        id,
        JSON.stringify({ dashboards: [SUPERSET_DASH], rls: { '*': 'region = {region}' } }),
      ]);
    }
    const cookies = await seedSessions(pg, tenant.id, users);
    await pg.query('ANALYZE');

    const products: Product[] = [
      { name: 'Metabase (reference)', path: '/sso/mb?return_to=/dashboard/1', ok: 302, note: 'HS256, 302' },
      { name: 'Tableau', path: '/embed/tb/token', ok: 200, note: 'HS256, JSON' },
      { name: 'Qlik Cloud', path: '/embed/ql/token', ok: 200, note: 'ES256, JSON' },
      { name: 'Sigma', path: '/embed/sg/workbook/Sales-Overview-1a2b3c4d?response=json', ok: 200, note: 'HS256, JSON' },
      { name: 'Grafana', path: '/sso/gf?return_to=/d/x', ok: 302, note: 'ES256, 302' },
      { name: 'Looker', path: '/embed/lk/looker/dashboards/7?response=json', ok: 200, note: 'HMAC-SHA1 URL, JSON' },
      { name: 'Power BI', path: `/embed/pb/powerbi/${PBI_REPORT}/token`, ok: 200, note: 'brokered (RLS identity), JSON' },
      { name: 'Superset (sign)', path: `/embed/sss/superset/${SUPERSET_DASH}/guest-token`, ok: 200, note: 'HS256, JSON, RLS filled' },
      { name: 'Superset (api)', path: `/embed/ssa/superset/${SUPERSET_DASH}/guest-token`, ok: 200, note: 'fake Superset API, JSON' },
    ];
    // Sanity: each mints with a session.
    for (const p of products) {
      const r = await fetch(`${service.baseUrl}${p.path}`, { redirect: 'manual', headers: { cookie: cookies[0] } });
      if (r.status !== p.ok) throw new Error(`${p.name} answered ${r.status}: ${(await r.text()).slice(0, 300)}`);
    }

    let next = 0;
    const requestsOf = (p: Product): autocannon.Request[] => [
      { method: 'GET', path: p.path, setupRequest: (req) => ({ ...req, headers: { ...req.headers, cookie: cookies[next++ % cookies.length] } }) },
    ];
    const run = async (p: Product, seconds: number) => {
      const before = cpuSeconds([service.pid]).get(service.pid) ?? 0;
      const r = await load({ url: service.baseUrl, requests: requestsOf(p), connections: CONNECTIONS, duration: seconds });
      const cpuMs = (((cpuSeconds([service.pid]).get(service.pid) ?? 0) - before) * 1000) / r.requests;
      return { ...r, cpuMs };
    };
    // Warm-up (JIT, pools, each product's key cache), not reported.
    for (const p of products) await run(p, 2);
    await sleep(500);

    // Per token the service recorded (a request autocannon cut off at the end of the run may still have been minted).
    const pbiLedger = async () => Number((await pg.query(`SELECT count(*) AS n FROM issued_tokens WHERE target_id = $1`, [pb]))[0].n);
    const pbiBefore = { ...pbi.calls, ledger: await pbiLedger() };
    const loadBefore = os.loadavg()[0];
    const results: { p: Product; r: LoadResult & { cpuMs: number } }[] = [];
    let supersetUpstream = '';
    for (const p of [...products, products[0]]) {
      const calls = { ...superset.calls };
      const recordedSsa = async () => Number((await pg.query<{ n: string }>(`SELECT count(*) AS n FROM issued_tokens WHERE target_id = $1`, [ssApi]))[0].n);
      const ssaBefore = await recordedSsa();
      results.push({ p, r: await run(p, DURATION) });
      if (p.name === 'Superset (api)') {
        // Warm cache (the warm-up signed in): one guest_token call per token, no login, no CSRF call.
        // Tokens counted in the ledger (autocannon leaves out the answers still in flight at the end).
        await sleep(200);
        const tokens = (await recordedSsa()) - ssaBefore;
        const d = { login: superset.calls.login - calls.login, csrf: superset.calls.csrf - calls.csrf, guest_token: superset.calls.guest_token - calls.guest_token };
        supersetUpstream = `Superset api mode: ${(d.guest_token / Math.max(1, tokens)).toFixed(3)} upstream calls per token (${tokens} tokens: guest_token ${d.guest_token}, login ${d.login}, csrf ${d.csrf})`;
      }
      await sleep(500);
    }
    const loadAfter = os.loadavg()[0];
    const okRate = (x: { p: Product; r: LoadResult }) => (x.r.statusCounts[String(x.p.ok)] ?? 0) / x.r.durationSeconds;
    const metabase = (okRate(results[0]) + okRate(results[results.length - 1])) / 2;
    printTable(`Tokens per second, ${CONNECTIONS} connections, ${DURATION} s per run, 1,000 users' sessions in turn`, results.map((x, i) => ({
      run: i === results.length - 1 ? 'Metabase (reference, again)' : x.p.name,
      'tokens/s': okRate(x),
      'vs Metabase': `${(okRate(x) / metabase).toFixed(2)}x`,
      'p50 ms': x.r.p50,
      'p99 ms': x.r.p99,
      'other answers': x.r.requests - (x.r.statusCounts[String(x.p.ok)] ?? 0) + x.r.errors,
      'CPU ms/req': x.r.cpuMs.toFixed(3),
      note: x.p.note,
    })));
    const recorded = await pg.query<{ slug: string; n: string }>(`SELECT t.slug, count(*) AS n FROM issued_tokens i JOIN targets t ON t.id = i.target_id GROUP BY 1 ORDER BY 1`);
    console.log(`\nMetabase reference: ${metabase.toFixed(0)}/s (mean of the first and last runs)`);
    console.log(supersetUpstream);
    console.log(`jti recorded per target: ${recorded.map((r) => `${r.slug} ${r.n}`).join(', ')}`);
    const pbiTokens = (await pbiLedger()) - pbiBefore.ledger;
    const perToken = (k: keyof typeof pbi.calls) => ((pbi.calls[k] - pbiBefore[k]) / pbiTokens).toFixed(3);
    console.log(`Power BI upstream calls per token (warm, ${pbiTokens.toFixed(0)} tokens): GenerateToken ${perToken('generate')}, report lookup ${perToken('report')}, Entra login ${perToken('entra')}`);
    console.log(`load average (1 min) before the runs: ${loadBefore.toFixed(2)}, after: ${loadAfter.toFixed(2)} on ${os.cpus().length} cores`);
  } finally {
    await pbi.close();
    await service.stop();
    await superset.close();
    await pg.stop();
  }
}

runMain(main);
