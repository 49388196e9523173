import { decodeJwt } from 'jose';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { SecretBox } from '../../src/crypto/secret-box';
import { createDataSource } from '../../src/database/data-source';
import { targetSecretContext } from '../../src/catalog/target-secrets';
import { grantAccess, makeApiKey, makeTenant, makeUser } from '../factories';
import { createDatabase, dropDatabase } from '../setup/test-db';
import { signInOver } from '../support/cookie-jar';
import { ServiceProcess, startService, stopService } from '../support/service-process';

/**
 * Proof under faults: two service processes on one database, sharing no memory.
 * SIGTERM under load answers every accepted request (no 5xx, no "Cannot use a pool after
 * calling end on the pool"), a rolling restart behind a load balancer loses no request, and
 * sessions, revocation, lockout counters and Sisense iat order hold across the processes.
 */
const PASSWORD = 'correct horse battery staple';
const MB_SECRET = 'rolling-metabase-secret-0123456789abcdef';
const SISENSE_SECRET = 'rolling-sisense-secret-0123456789abcdef';
const LOCKOUT = 4;
const FAKE_BI = 'http://bi.invalid';
const POOL_ERROR = 'Cannot use a pool after calling end';

interface Tally {
  statuses: Record<number, number>;
  refused: number;
  failures: string[];
}

/**
 * The error of a request whose connection was new and was reset before any answer: the
 * kernel had queued the connection for a listener that then closed (Linux resets what is
 * left in the accept queue), so the process never accepted it — as good as refused. A reset
 * on a reused keep-alive connection is not this: that is the server closing a connection a
 * client may be sending on, which the drain must never do.
 */
const NOT_ACCEPTED = 'ECONNREFUSED';

/**
 * One handshake straight to a process over node:http with a keep-alive agent, so that a reset
 * can be told apart: on a fresh connection (never accepted) or on a reused one (a failure).
 */
function directHandshake(agent: http.Agent) {
  return (base: string, cookie: string) =>
    new Promise<number>((resolve, reject) => {
      const req = http.get(`${base}/sso/metabase?return_to=/dashboard/1`, { agent, headers: { cookie }, timeout: 30_000 }, (res) => {
        res.resume();
        res.on('end', () => {
          const location = res.headers.location ?? '';
          const jwt = location.startsWith(FAKE_BI) ? new URL(location).searchParams.get('jwt') : null;
          resolve(res.statusCode === 302 && !jwt ? 399 : (res.statusCode ?? 0));
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'ECONNRESET' && !req.reusedSocket) reject(Object.assign(new Error('reset before it was accepted'), { code: NOT_ACCEPTED }));
        else reject(Object.assign(e, { message: `${e.message}${req.reusedSocket ? ' (on a reused connection)' : ''}` }));
      });
    });
}

/**
 * `workers` loops sending `send()` until stop() is called. A refused connection (nothing
 * listening) is not an accepted request; any other network error is a failure.
 */
function loadLoop(send: () => Promise<number>, workers = 6) {
  const tally: Tally = { statuses: {}, refused: 0, failures: [] };
  let running = true;
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      try {
        const status = await send();
        tally.statuses[status] = (tally.statuses[status] ?? 0) + 1;
      } catch (e) {
        const code = (e as { cause?: { code?: string } }).cause?.code ?? (e as { code?: string }).code;
        if (code === 'ECONNREFUSED') {
          tally.refused++;
          await new Promise((r) => setTimeout(r, 20));
        } else tally.failures.push(`${code ?? ''} ${(e as Error).message}`);
      }
    }
  });
  return {
    tally,
    async stop(): Promise<Tally> {
      running = false;
      await Promise.all(loops);
      return tally;
    },
  };
}

const fiveHundreds = (t: Tally) => Object.entries(t.statuses).filter(([s]) => Number(s) >= 500);
const total = (t: Tally) => Object.values(t.statuses).reduce((a, b) => a + b, 0);

/**
 * A load balancer in miniature: round-robin over the backends, each request on a fresh
 * connection; a refused connection (the backend stopped listening) is retried on the next
 * backend, as HAProxy/nginx do. Anything else reaching the client is what the backend said.
 */
async function startBalancer(backends: () => string[]) {
  let next = 0;
  const retried = { n: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const list = backends();
      const tryAt = (attempt: number) => {
        const target = new URL(list[(next + attempt) % list.length]);
        const up = http.request(
          { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent: false },
          (r) => {
            res.writeHead(r.statusCode ?? 502, r.headers);
            r.pipe(res);
          },
        );
        up.on('error', (e: NodeJS.ErrnoException) => {
          // nginx's default `proxy_next_upstream error`: a refused connection, or (for a GET) one
          // reset before any response — a connection the stopping backend's kernel had queued
          // but the process never accepted — goes to the next backend.
          const retryable = e.code === 'ECONNREFUSED' || (e.code === 'ECONNRESET' && req.method === 'GET');
          if (retryable && attempt < list.length * 20) {
            retried.n++;
            setTimeout(() => tryAt(attempt + 1), 10);
          } else {
            res.writeHead(502, { 'content-type': 'text/plain' });
            res.end(`balancer: ${e.code ?? e.message}`);
          }
        });
        up.end(body);
      };
      next++;
      tryAt(0);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    retried,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

describe('two service processes on one database: SIGTERM, rolling restart, shared state', () => {
  let db: { name: string; url: string };
  let ds: DataSource;
  let a: ServiceProcess;
  let b: ServiceProcess;
  let tenant: { id: string; slug: string };
  let user: { id: string; email: string };
  let adminKey: string;
  // The load loop is one session standing in for many users: its handshake rate is lifted
  // (SSO_SESSION_*), what is under test is the restart, not the per-session limit.
  const env = { LOGIN_LOCKOUT_THRESHOLD: String(LOCKOUT), SHUTDOWN_GRACE_PERIOD: '10', SSO_SESSION_BURST: '100000', SSO_SESSION_RATE: '100000' };

  beforeAll(async () => {
    db = await createDatabase();
    ds = createDataSource(db.url, 2);
    await ds.initialize();
    tenant = await makeTenant(ds);
    user = await makeUser(ds, tenant.id, { password: PASSWORD, groups: ['analysts'] });
    adminKey = await makeApiKey(ds);
    const box = new SecretBox(Buffer.from(process.env.SECRETS_KEY!, 'hex'));
    for (const [kind, secret] of [['metabase', MB_SECRET], ['sisense', SISENSE_SECRET]]) {
      const [target] = await ds.query(
        `INSERT INTO targets (slug, kind, name, base_url, settings) VALUES ($1, $1, $1, $2, '{}') RETURNING id`,
        [kind, FAKE_BI],
      );
      await ds.query(`UPDATE targets SET secrets = jsonb_build_object('secret', $2::text) WHERE id = $1`, [target.id, box.seal(secret, targetSecretContext(target.id, 'secret'))]);
      await grantAccess(ds, tenant.id, target.id, { groupMappings: { analysts: ['Viewers'] } });
    }
    // Sequentially: two start-ups at once on 2 cores only make both slower.
    const startedAt = Date.now();
    a = await startService(db.url, { env });
    b = await startService(db.url, { env });
    console.log(`two processes started in ${Date.now() - startedAt} ms`);
  }, 180_000);

  afterAll(async () => {
    await Promise.all([stopService(a, 5_000), stopService(b, 5_000)]);
    if (ds?.isInitialized) await ds.destroy();
    if (db) await dropDatabase(db.name);
  }, 60_000);

  /** A real login through the form (CSRF cookie and field) on `base`; the session cookie. */
  function login(base: string, password = PASSWORD): Promise<{ status: number; cookie?: string }> {
    return signInOver(base, { tenant: tenant.slug, email: user.email, password });
  }

  /** One handshake: 302 to the BI with a token, or what was answered instead. */
  async function sso(base: string, cookie: string, kind = 'metabase'): Promise<{ status: number; jwt?: string }> {
    const res = await fetch(`${base}/sso/${kind}?return_to=/dashboard/1`, { headers: { cookie }, redirect: 'manual', signal: AbortSignal.timeout(30_000) });
    await res.arrayBuffer();
    const location = res.headers.get('location') ?? '';
    const jwt = location.startsWith(FAKE_BI) ? (new URL(location).searchParams.get('jwt') ?? undefined) : undefined;
    return { status: res.status, jwt };
  }
  const handshakeStatus = (base: string, cookie: string) => async () => {
    const r = await sso(base, cookie);
    return r.status === 302 && !r.jwt ? 399 : r.status; // a 302 without a token is a refusal here
  };

  // Runs by default: the processes start from a build compiled once (serviceBuild), not ts-node.
  it('rolling restart under load: each SIGTERM answers every accepted request (no 5xx, no pool error, exit 0); through a balancer zero requests fail; a session made on one process works on the other and survives', async () => {
    const lb = await startBalancer(() => [a.url, b.url]);
    // Every load loop started, stopped in `finally` too: a failed expectation must not leave
    // loops running (the balancer's close would wait for them for ever, hiding the failure).
    const loops: ReturnType<typeof loadLoop>[] = [];
    try {
      const { cookie } = await login(a.url);
      expect(cookie).toBeDefined();
      expect((await sso(b.url, cookie!)).jwt).toBeDefined();
      const load = loadLoop(handshakeStatus(lb.url, cookie!));
      loops.push(load);
      for (const which of ['a', 'b'] as const) {
        await new Promise((r) => setTimeout(r, 1_000));
        const old = which === 'a' ? a : b;
        // Besides the balancer's traffic, clients connected straight to the stopping process.
        const agent = new http.Agent({ keepAlive: true });
        const send = directHandshake(agent);
        const direct = loadLoop(() => send(old.url, cookie!), 3);
        loops.push(direct);
        // Until the direct clients are being answered (on the loaded machine the first answers
        // can take longer than a fixed pause), so the signal lands in the middle of their load.
        for (const until = Date.now() + 15_000; total(direct.tally) < 3 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 50));
        const before = total(direct.tally);
        old.proc.kill('SIGTERM');
        // Bounded: the grace period is 10 s (before the fix, keep-alive load kept it up for ever).
        const code = await Promise.race([old.exited, new Promise<string>((r) => setTimeout(() => r('still running 30 s after SIGTERM'), 30_000))]);
        const tally = await direct.stop();
        agent.destroy();
        console.log(`SIGTERM to ${which} under load: ${JSON.stringify(tally.statuses)} answered to direct clients (${before} before the signal), ${tally.refused} refused after`);
        await stopService(old, 1_000);
        const startedAt = Date.now();
        const fresh = await startService(db.url, { port: old.port, env });
        console.log(`${which} started again in ${Date.now() - startedAt} ms`);
        if (which === 'a') a = fresh;
        else b = fresh;

        expect(code).toBe(0);
        expect(before).toBeGreaterThan(0);
        expect(tally.failures).toEqual([]);
        expect(fiveHundreds(tally)).toEqual([]);
        expect(Object.keys(tally.statuses)).toEqual(['302']);
        expect(old.output.join('')).not.toContain(POOL_ERROR);
      }
      await new Promise((r) => setTimeout(r, 1_000));
      const tally = await load.stop();
      console.log(`rolling restart: ${JSON.stringify(tally.statuses)} answered through the balancer, ${lb.retried.n} refused/reset connections retried on the other process`);

      expect(tally.failures).toEqual([]);
      expect(Object.keys(tally.statuses)).toEqual(['302']);
      // The session from before both restarts still signs in on both new processes.
      expect((await sso(a.url, cookie!)).jwt).toBeDefined();
      expect((await sso(b.url, cookie!)).jwt).toBeDefined();
    } finally {
      await Promise.all(loops.map((l) => l.stop()));
      await lb.close();
    }
  }, 180_000);

  it('a session revoked on one process is refused on the other at once', async () => {
    const { cookie } = await login(b.url);
    expect((await sso(a.url, cookie!)).jwt).toBeDefined();
    const revoked = await fetch(`${a.url}/api/v1/tenants/${tenant.id}/users/${user.id}/sessions`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${adminKey}` },
    });
    expect(revoked.status).toBe(200);
    const after = await sso(b.url, cookie!);
    expect(after.jwt).toBeUndefined();
    expect(after.status).toBe(302); // to the login page, no token
  });

  it('lockout counts failures from both processes as one account', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < LOCKOUT; i++) statuses.push((await login(i % 2 ? b.url : a.url, `wrong-${i}`)).status);
    expect(statuses).toEqual(Array(LOCKOUT).fill(401));
    const [row] = await ds.query(`SELECT failures, locked_until > now() AS locked FROM login_throttles WHERE key = $1`, [
      `acct:${tenant.id}:${user.email}`,
    ]);
    expect(row).toEqual({ failures: LOCKOUT, locked: true });
    // Locked on both: the right password is refused by either process.
    expect((await login(a.url)).cookie).toBeUndefined();
    expect((await login(b.url)).cookie).toBeUndefined();
    await ds.query(`DELETE FROM login_throttles WHERE key = $1`, [`acct:${tenant.id}:${user.email}`]);
  });

  it('Sisense iat strictly increases across handshakes alternating between the processes', async () => {
    const { cookie } = await login(a.url);
    const iats: number[] = [];
    for (let i = 0; i < 8; i++) {
      const r = await sso(i % 2 ? b.url : a.url, cookie!, 'sisense');
      expect(r.jwt).toBeDefined();
      iats.push(decodeJwt(r.jwt!).iat!);
    }
    for (let i = 1; i < iats.length; i++) expect(iats[i]).toBeGreaterThan(iats[i - 1]);
  });
});
