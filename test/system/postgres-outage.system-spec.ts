import { decodeJwt } from 'jose';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { grantAccess, makeTarget, makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { freePort } from '../setup/global-setup';
import { signInOver } from '../support/cookie-jar';
import { PostgresProcess, startPostgresProcess } from '../support/embedded-postgres-process';

/**
 * Postgres itself stops in the middle of a load run (its own
 * embedded cluster, not the suite's) and starts again. While it is down SSO and login answer
 * 503 with a clear body (never a 500, never a crash), readiness says 503, and no token leaves
 * without its ledger row; once it is back the same process serves again within 5 s.
 */
const PASSWORD = 'correct horse battery staple';
const SECRET = 'outage-metabase-secret-0123456789abcdef';
const FAKE_BI = 'http://bi.invalid';

interface Answer {
  status: number;
  body: string;
  jwt?: string;
  at: number;
}

// Not retried: the login that answered 500 about one run in four (a transaction's connection
// dropped between two statements) is reproduced on purpose in connection-lost.medium-spec.ts and
// fixed underneath (PostgresQueryRunnerKeepingCause). A 500's body is still printed below.

describe('a Postgres outage in the middle of a load run', () => {
  let dir: string;
  let pgPort: number;
  let pg: PostgresProcess | undefined;
  let t: TestApp;
  let base: string;
  let tenant: { id: string; slug: string };
  let user: { email: string };
  let cookie: string;
  const db = { name: 'outage', url: '' };

  const startPg = async () => {
    pg = await startPostgresProcess(path.join(dir, 'pg'), pgPort);
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'embed-idp-outage-'));
    fs.chmodSync(dir, 0o755);
    pgPort = await freePort();
    await startPg();
    const admin = new Client({ connectionString: pg!.adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${db.name}`);
    await admin.end();
    db.url = pg!.withDatabase(db.name);
    // The load run is one session standing in for many users: its handshake rate is lifted.
    t = await createTestApp({ database: db, env: { DB_POOL_SIZE: '5', SSO_SESSION_BURST: '100000', SSO_SESSION_RATE: '100000' } });
    base = await t.listen();
    tenant = await makeTenant(t.ds);
    user = await makeUser(t.ds, tenant.id, { password: PASSWORD, groups: ['analysts'] });
    const target = await makeTarget(t, { kind: 'metabase', slug: 'mb', baseUrl: FAKE_BI, secret: SECRET });
    await grantAccess(t.ds, tenant.id, target.id, { groupMappings: { analysts: ['Viewers'] } });
    cookie = (await login()).cookie!;
    expect(cookie).toBeDefined();
  }, 120_000);

  afterAll(async () => {
    await t?.close({ keepDatabase: true });
    await pg?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  function login(): Promise<{ status: number; body: string; cookie?: string }> {
    return signInOver(base, { tenant: tenant.slug, email: user.email, password: PASSWORD, accept: 'text/html' });
  }

  async function sso(): Promise<Answer> {
    const res = await fetch(`${base}/sso/mb?return_to=/dashboard/1`, { headers: { cookie }, redirect: 'manual' });
    const location = res.headers.get('location') ?? '';
    const jwt = location.startsWith(FAKE_BI) ? (new URL(location).searchParams.get('jwt') ?? undefined) : undefined;
    return { status: res.status, body: await res.text(), jwt, at: Date.now() };
  }

  it('answers 503 while down, issues no token without its ledger row, and serves again within 5 s', async () => {
    const answers: Answer[] = [];
    const logins: { status: number; body: string }[] = [];
    let running = true;
    const loops = [
      ...Array.from({ length: 4 }, async () => {
        while (running) answers.push(await sso());
      }),
      (async () => {
        while (running) {
          logins.push(await login());
          await new Promise((r) => setTimeout(r, 50));
        }
      })(),
    ];
    await new Promise((r) => setTimeout(r, 1_000));
    const stoppedAt = Date.now();
    await pg!.stop();
    const downSince = Date.now();
    await new Promise((r) => setTimeout(r, 2_000));
    const ready = await fetch(`${base}/health/ready`);
    const readyBody = await ready.text();
    const live = await fetch(`${base}/health/live`);
    const restartAt = Date.now();
    await startPg();
    const backAt = Date.now();
    // Serving again: the first handshake that gets a token after Postgres accepts connections.
    let recoveredAt: number | undefined;
    while (Date.now() - backAt < 15_000 && recoveredAt === undefined) {
      await new Promise((r) => setTimeout(r, 50));
      recoveredAt = answers.find((a) => a.at > backAt && a.jwt)?.at;
    }
    await new Promise((r) => setTimeout(r, 500));
    running = false;
    await Promise.all(loops);

    const statuses = (list: { status: number }[]) => list.reduce<Record<number, number>>((m, a) => ((m[a.status] = (m[a.status] ?? 0) + 1), m), {});
    const during = answers.filter((a) => a.at > downSince && a.at < restartAt);
    const tokens = answers.filter((a) => a.jwt);
    console.log(
      `Postgres outage: stop took ${downSince - stoppedAt} ms, start ${backAt - restartAt} ms; serving again ${recoveredAt! - backAt} ms after it accepted connections; ` +
        `SSO ${JSON.stringify(statuses(answers))} (while down ${JSON.stringify(statuses(during))}), login ${JSON.stringify(statuses(logins))}, ${tokens.length} tokens`,
    );
    for (const a of [...answers, ...logins].filter((x) => x.status === 500)) console.log(`500 during the outage: ${a.body.slice(0, 500)}`);

    expect(ready.status).toBe(503);
    expect(JSON.parse(readyBody).details.database.status).toBe('down');
    expect(live.status).toBe(200);
    // While down: only 503s, with a clear body naming the cause and nothing internal.
    expect(during.length).toBeGreaterThan(0);
    expect(Object.keys(statuses(during))).toEqual(['503']);
    for (const a of [...answers, ...logins].filter((x) => x.status >= 500)) {
      expect(a.status).toBe(503);
      expect(a.body).toMatch(/database_unavailable|temporarily unavailable/i);
      expect(a.body).not.toMatch(/\n\s+at |node_modules|\/src\/|QueryFailedError/);
    }
    expect(Object.keys(statuses(logins)).every((s) => ['303', '302', '503'].includes(s))).toBe(true);
    expect(logins.some((l) => l.status === 503)).toBe(true);
    // Back within 5 s, without a restart of the service.
    expect(recoveredAt).toBeDefined();
    expect(recoveredAt! - backAt).toBeLessThan(5_000);
    // Every token that left has its ledger row.
    const jtis = tokens.map((a) => decodeJwt(a.jwt!).jti as string);
    const [{ n }] = await t.ds.query(`SELECT count(*)::int AS n FROM issued_tokens WHERE jti = ANY($1)`, [jtis]);
    expect(n).toBe(jtis.length);
  }, 120_000);
});
