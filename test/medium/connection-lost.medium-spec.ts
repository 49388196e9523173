import { Client } from 'pg';
import { QueryFailedError } from 'typeorm';
import { AuditService } from '../../src/audit/audit.service';
import { isDatabaseUnavailable } from '../../src/common/db-unavailable';
import { makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { testServerUrl } from '../setup/test-db';
import { CookieJar, csrfFieldOf } from '../support/cookie-jar';

/**
 * the login 500 during a Postgres outage. When Postgres drops a connection that is
 * idle between two statements of a transaction (shutdown's "terminating connection due to
 * administrator command", 57P01), node-postgres emits 'error' on the client and TypeORM
 * releases the query runner there and then; the transaction's next statement used to fail
 * with TypeORM's "Query runner already released" — no SQLSTATE, no connection error — and
 * was answered 500. The outage spec hit it about one run in four (a login's transaction
 * between its statements at the moment Postgres stopped); here the gap is made on purpose:
 * the backend is terminated while the transaction waits before its audit insert.
 */
const PASSWORD = 'correct horse battery staple';

describe('a connection Postgres drops between two statements of a transaction', () => {
  let t: TestApp;
  let base: string;
  let admin: Client;

  beforeAll(async () => {
    t = await createTestApp();
    base = await t.listen();
    admin = new Client({ connectionString: testServerUrl() });
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.end();
    await t?.close();
  });

  afterEach(() => jest.restoreAllMocks());

  /** Terminates this app's backends idle inside a transaction (waits for one to be). */
  async function terminateIdleInTransaction(): Promise<number> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const rows: { pid: number }[] = (
        await admin.query(`SELECT pid FROM pg_stat_activity WHERE datname = $1 AND state = 'idle in transaction'`, [t.db.name])
      ).rows;
      if (rows.length) {
        for (const { pid } of rows) await admin.query(`SELECT pg_terminate_backend($1)`, [pid]);
        // node-postgres reads the FATAL and the socket's end asynchronously: let it.
        await new Promise((r) => setTimeout(r, 300));
        return rows.length;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('no backend idle in a transaction');
  }

  /**
   * Holds the audit write of `type` until `release` is called: its transaction sits idle
   * meanwhile. `reached` resolves once it is held (only then is it the one transaction open:
   * an earlier one, e.g. the throttle's, may be caught between its statements otherwise).
   */
  function holdAudit(type: string): { reached: Promise<void>; release: () => void } {
    const audit = t.app.get(AuditService);
    const original = audit.record.bind(audit);
    let release!: () => void;
    let arrive!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const reached = new Promise<void>((r) => (arrive = r));
    jest.spyOn(audit, 'record').mockImplementation(async (meta, input, manager) => {
      if (input.type === type) {
        arrive();
        await gate;
      }
      return original(meta, input, manager);
    });
    return { reached, release };
  }

  async function postLogin(tenant: string, email: string, password: string): Promise<Response> {
    const jar = new CookieJar();
    const page = jar.store(await fetch(`${base}/login`));
    const csrf = csrfFieldOf(await page.text());
    return fetch(`${base}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      body: new URLSearchParams({ _csrf: csrf, tenant, email, password }).toString(),
    });
  }

  it("fails the transaction's next statement with Postgres's own connection error, which reads as unavailable", async () => {
    const failure = await t.ds
      .transaction(async (m) => {
        await m.query('SELECT 1');
        await terminateIdleInTransaction();
        await m.query('SELECT 2');
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(failure).toBeInstanceOf(QueryFailedError);
    expect((failure as QueryFailedError).message).not.toMatch(/already released/);
    expect(isDatabaseUnavailable(failure)).toBe(true);
    // The pool replaced the dead connection: the next query is served.
    expect(await t.ds.query('SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
  });

  it('a login whose session transaction loses its connection answers 503 and writes no session', async () => {
    const tenant = await makeTenant(t.ds);
    const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
    const held = holdAudit('login.success');
    const answer = postLogin(tenant.slug, user.email, PASSWORD);
    await held.reached;
    expect(await terminateIdleInTransaction()).toBe(1);
    held.release();
    const res = await answer;
    const body = await res.text();
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(body).toMatch(/temporarily unavailable/i);
    expect(res.headers.get('set-cookie') ?? '').not.toMatch(/eidp_session=[^;]/);
    const [{ n }] = await t.ds.query(`SELECT count(*)::int AS n FROM sessions WHERE user_id = $1`, [user.id]);
    expect(n).toBe(0);
    const events = await t.ds.query(`SELECT type FROM audit_events WHERE tenant_id = $1`, [tenant.id]);
    expect(events).toEqual([]);
  });

  it('a failed login whose audit transaction loses its connection answers 503, not 500', async () => {
    const tenant = await makeTenant(t.ds);
    const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
    const held = holdAudit('login.failure');
    const answer = postLogin(tenant.slug, user.email, 'not the password at all');
    await held.reached;
    expect(await terminateIdleInTransaction()).toBe(1);
    held.release();
    const res = await answer;
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/temporarily unavailable/i);
  });
});
