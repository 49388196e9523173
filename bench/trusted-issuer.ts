/*
 * Hand-offs per second with a trusted issuer's token (an OIDC ID token, ES256, verified with
 * the issuer's JWKS) against the HS256 hand-off and the Metabase handshake of the same run,
 * and how often the service fetched the issuer's discovery document and key set.
 *
 *   npx ts-node --transpile-only bench/trusted-issuer.ts   (BENCH_DURATION=10 BENCH_JWKS_DURATION=60 BENCH_CONNECTIONS=20)
 *
 * The issuer is a small HTTP server in this process (discovery + JWKS), counting every fetch.
 * The service runs with NODE_ENV=development for all three runs alike: in production an
 * issuer must be https, and this one is http on loopback. Tokens are signed before each run
 * (the host app's work is not what is measured). Figures are printed, not asserted.
 */
import type autocannon from 'autocannon';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import jwt from 'jsonwebtoken';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSecretKey, randomBytes, randomUUID } from 'node:crypto';
import { SecretBox } from '../src/crypto/secret-box';
import { load, LoadResult, printTable, runMain, seedSessions, setTargetSecret, sleep, startPostgres, startService } from './lib';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const JWKS_DURATION = Number(process.env.BENCH_JWKS_DURATION ?? 60);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const USERS = 1000;
const METABASE = 'https://metabase.example.com';
const MB_SECRET = 'bench-metabase-jwt-secret-0123456789abcdef';
const SECRET = 'bench-handoff-secret-0123456789abcdef0123';
const AUDIENCE = 'bench-client';

async function main(): Promise<void> {
  // The issuer: discovery and JWKS, each fetch counted.
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = randomUUID();
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  const fetches = { discovery: 0, jwks: 0 };
  const server = createServer((req, res) => {
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    res.setHeader('content-type', 'application/json');
    if (req.url === '/.well-known/openid-configuration') {
      fetches.discovery++;
      return res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }));
    }
    if (req.url === '/jwks') {
      fetches.jwks++;
      return res.end(JSON.stringify({ keys: [jwk] }));
    }
    res.statusCode = 404;
    res.end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const pg = await startPostgres();
  const secretsKey = randomBytes(32).toString('hex');
  const service = await startService({ databaseUrl: pg.url, secretsKey, env: { DB_POOL_SIZE: '20', NODE_ENV: 'development', LOG_LEVEL: 'warn' } });
  try {
    const box = new SecretBox(Buffer.from(secretsKey, 'hex'));
    const [tenant] = await pg.query(`INSERT INTO tenants (slug, name) VALUES ('bench', 'Bench') RETURNING id`);
    const users: { id: string }[] = await pg.query(
      `INSERT INTO users (tenant_id, email, first_name, last_name) SELECT $1, 'user' || i || '@example.com', 'Bench', 'User' FROM generate_series(1, ${USERS}) i RETURNING id`,
      [tenant.id],
    );
    const [group] = await pg.query(`INSERT INTO groups (tenant_id, name) VALUES ($1, 'analysts') RETURNING id`, [tenant.id]);
    await pg.query(`INSERT INTO group_members (group_id, user_id, tenant_id) SELECT $1, id, $2 FROM users WHERE tenant_id = $2`, [group.id, tenant.id]);
    const secretId = randomUUID();
    await pg.query(`INSERT INTO handoff_secrets (id, tenant_id, secret_enc) VALUES ($1, $2, $3)`, [secretId, tenant.id, box.seal(SECRET, `handoff:${tenant.id}:${secretId}`)]);
    await pg.query(`INSERT INTO handoff_settings (tenant_id, jit_provisioning, sync_groups) VALUES ($1, false, false)`, [tenant.id]);
    await pg.query(
      `INSERT INTO trusted_issuers (tenant_id, issuer, audience, algorithms, max_token_age_seconds) VALUES ($1, $2, $3, '{ES256}', 3600)`,
      [tenant.id, issuer, AUDIENCE],
    );
    const [target] = await pg.query(`INSERT INTO targets (slug, kind, name, base_url, settings) VALUES ('mb', 'metabase', 'Metabase', $1, '{}') RETURNING id`, [METABASE]);
    await setTargetSecret(pg, box, target.id, MB_SECRET);
    await pg.query(`INSERT INTO tenant_target_access (tenant_id, target_id, group_mappings) VALUES ($1, $2, '{"analysts":["Analysts"]}')`, [tenant.id, target.id]);
    const cookies = await seedSessions(pg, tenant.id, users);
    await pg.query('ANALYZE');

    const email = (i: number) => `user${(i % USERS) + 1}@example.com`;
    const hsKey = createSecretKey(Buffer.from(SECRET, 'utf8'));
    const signHs = (i: number) => {
      const now = Math.floor(Date.now() / 1000);
      return jwt.sign({ iss: 'bench', iat: now, exp: now + 300, jti: randomUUID(), email: email(i), groups: ['analysts'] }, hsKey, { algorithm: 'HS256' });
    };
    const signOidc = (i: number) => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ email: email(i), email_verified: true, jti: randomUUID() })
        .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
        .setIssuer(issuer)
        .setAudience(AUDIENCE)
        .setSubject(`sub-${i}`)
        .setIssuedAt(now)
        .setExpirationTime(now + 3600)
        .sign(privateKey);
    };
    const prepare = async (n: number, sign: (i: number) => string | Promise<string>) => {
      const out: string[] = [];
      for (let i = 0; i < n; i++) out.push(new URLSearchParams({ assertion: await sign(i), return_to: '/dashboard/1' }).toString());
      return out;
    };
    const post = (label: string, prepared: string[], duration: number) => {
      let next = 0;
      const requests: autocannon.Request[] = [
        { method: 'POST', path: '/sso/mb', headers: { 'content-type': 'application/x-www-form-urlencoded' }, setupRequest: (req) => ({ ...req, body: prepared[next++ % prepared.length] }) },
      ];
      return load({ url: service.baseUrl, requests, connections: CONNECTIONS, duration }).then((r) => {
        if (next > prepared.length) console.warn(`${label}: ran out of fresh tokens (replays counted as refusals)`);
        return r;
      });
    };
    const handshake = (duration: number) => {
      let next = 0;
      const requests: autocannon.Request[] = [
        { method: 'GET', path: '/sso/mb?return_to=/dashboard/1', setupRequest: (req) => ({ ...req, headers: { ...req.headers, cookie: cookies[next++ % cookies.length] } }) },
      ];
      return load({ url: service.baseUrl, requests, connections: CONNECTIONS, duration });
    };

    // Sanity: each kind of token signs in and reaches Metabase.
    for (const sign of [signOidc, signHs]) {
      const first = await fetch(`${service.baseUrl}/sso/mb`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: (await prepare(1, sign))[0] });
      if (first.status !== 302 || !(first.headers.get('location') ?? '').startsWith(`${METABASE}/auth/sso?jwt=`)) throw new Error(`sanity: ${first.status} ${await first.text()}`);
    }

    // Enough fresh tokens for each run (a generous ceiling of 2,000 hand-offs/s).
    const perRun = (s: number) => Math.min(200_000, 2000 * s);
    await post('warm-up', await prepare(3000, signHs), 3);
    await post('warm-up', await prepare(3000, signOidc), 3);
    await handshake(3);
    await sleep(500);

    const rows: Record<string, string | number>[] = [];
    const row = (name: string, r: LoadResult, base: LoadResult | null, note: string) => ({
      run: name,
      'req/s': r.rps,
      p50: r.p50,
      p99: r.p99,
      redirects: r.statusCounts['302'] ?? 0,
      other: r.requests - (r.statusCounts['302'] ?? 0),
      'vs HS256': base ? `${(r.rps / base.rps).toFixed(2)}×` : '1.00×',
      note,
    });
    const hs = await post('HS256', await prepare(perRun(DURATION), signHs), DURATION);
    await sleep(500);
    const before = { ...fetches };
    const oidc = await post('trusted issuer', await prepare(perRun(JWKS_DURATION), signOidc), JWKS_DURATION);
    const during = { discovery: fetches.discovery - before.discovery, jwks: fetches.jwks - before.jwks };
    await sleep(500);
    const mb = await handshake(DURATION);
    rows.push(row('HS256 hand-off (POST /sso/mb)', hs, null, `${DURATION} s`));
    rows.push(row('trusted-issuer hand-off (ES256 ID token)', oidc, hs, `${JWKS_DURATION} s; ${(oidc.rps / mb.rps).toFixed(2)}× the handshake`));
    rows.push(row('Metabase handshake (GET /sso/mb, session)', mb, hs, `${DURATION} s`));
    printTable(`Hand-offs vs the Metabase handshake, ${CONNECTIONS} connections, same service and database`, rows);
    console.log(`\nissuer fetches during the ${JWKS_DURATION} s trusted-issuer run: JWKS ${during.jwks}, discovery ${during.discovery}`);
    console.log(`issuer fetches since the service started (sanity request and warm-up included): JWKS ${fetches.jwks}, discovery ${fetches.discovery}`);
  } finally {
    await service.stop();
    await pg.stop();
    server.close();
  }
}

runMain(main);
