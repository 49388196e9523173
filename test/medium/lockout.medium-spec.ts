import request from 'supertest';
import { makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { CookieJar, csrfFieldOf } from '../support/cookie-jar';

const PASSWORD = 'correct horse battery staple';
const THRESHOLD = 10;
const IP_LIMIT = 20;

/**
 * Brute-force protection. Requests carry X-Forwarded-For (TRUST_PROXY=loopback: the test client
 * on 127.0.0.1 plays the proxy), so each test
 * chooses the client IP: the account tests spread attempts over many IPs (a distributed
 * guesser) so only the account lockout is in play; the IP test uses one.
 */
describe('login lockout and throttling', () => {
  let t: TestApp;
  let base: string;

  beforeAll(async () => {
    t = await createTestApp({
      env: {
        TRUST_PROXY: 'loopback',
        LOGIN_LOCKOUT_THRESHOLD: String(THRESHOLD),
        LOGIN_LOCKOUT_WINDOW: '900',
        LOGIN_LOCKOUT_DURATION: '900',
        LOGIN_IP_LIMIT: String(IP_LIMIT),
        LOGIN_IP_WINDOW: '600',
      },
    });
    // Parallel requests need a real listening server (supertest would listen once per request).
    base = await t.listen();
  });
  afterAll(async () => {
    await t.close();
  });

  /** One browser's CSRF cookie and field, reused for many posts. */
  async function browser() {
    const jar = new CookieJar();
    const page = jar.store(await request(base).get('/login').expect(200));
    return { jar, csrf: csrfFieldOf(page.text) };
  }

  function attempt(b: { jar: CookieJar; csrf: string }, p: { tenant: string; email: string; password: string; ip?: string }) {
    return b.jar
      .on(request(base).post('/login'))
      .set('X-Forwarded-For', p.ip ?? uniqueIp())
      .type('form')
      .send({ _csrf: b.csrf, tenant: p.tenant, email: p.email, password: p.password });
  }

  let ipCounter = 0;
  function uniqueIp(): string {
    ipCounter += 1;
    return `10.${(ipCounter >> 16) & 255}.${(ipCounter >> 8) & 255}.${ipCounter & 255}`;
  }

  async function accountState(tenantId: string, email: string, userId: string) {
    const [row] = await t.ds.query(`SELECT failures, locked_until > now() AS locked FROM login_throttles WHERE key = $1`, [
      `acct:${tenantId}:${email}`,
    ]);
    const events = await t.ds.query(
      `SELECT type, details->>'reason' AS reason, count(*)::int AS n FROM audit_events
        WHERE details->>'userId' = $1 AND type LIKE 'login.%' GROUP BY 1, 2 ORDER BY 1, 2`,
      [userId],
    );
    return { throttle: row, events };
  }

  it(`locks the account after ${THRESHOLD} failures; then even the right password is refused, with the same answer`, async () => {
    const tenant = await makeTenant(t.ds);
    const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
    const b = await browser();
    const answers = new Set<string>();
    for (let i = 0; i < THRESHOLD; i++) {
      const res = await attempt(b, { tenant: tenant.slug, email: user.email, password: `wrong-${i}` }).expect(401);
      answers.add(res.text);
    }
    const locked = await attempt(b, { tenant: tenant.slug, email: user.email, password: PASSWORD }).expect(401);
    answers.add(locked.text);
    expect(answers.size).toBe(1);
    expect(locked.headers['set-cookie'] ?? []).not.toEqual(expect.arrayContaining([expect.stringMatching(/^eidp_session=/)]));

    const state = await accountState(tenant.id, user.email, user.id);
    expect(state.throttle).toEqual({ failures: THRESHOLD, locked: true });
    expect(state.events).toEqual([
      { type: 'login.failure', reason: 'bad_password', n: THRESHOLD },
      { type: 'login.failure', reason: 'locked', n: 1 },
      { type: 'login.lockout', reason: null, n: 1 },
    ]);
  });

  it('counts 50 parallel wrong passwords exactly as 50 sequential ones', async () => {
    const tenant = await makeTenant(t.ds);
    const sequential = await makeUser(t.ds, tenant.id, { password: PASSWORD });
    const parallel = await makeUser(t.ds, tenant.id, { password: PASSWORD });
    const b = await browser();

    const seqStatuses: number[] = [];
    for (let i = 0; i < 50; i++) {
      seqStatuses.push((await attempt(b, { tenant: tenant.slug, email: sequential.email, password: `wrong-${i}` })).status);
    }
    const parStatuses = (
      await Promise.all(Array.from({ length: 50 }, (_, i) => attempt(b, { tenant: tenant.slug, email: parallel.email, password: `wrong-${i}` })))
    ).map((r) => r.status);

    expect(seqStatuses).toEqual(Array(50).fill(401));
    expect(parStatuses).toEqual(Array(50).fill(401));
    const seq = await accountState(tenant.id, sequential.email, sequential.id);
    const par = await accountState(tenant.id, parallel.email, parallel.id);
    expect(seq.throttle).toEqual({ failures: THRESHOLD, locked: true });
    expect(par).toEqual(seq);
    expect(par.events).toEqual([
      { type: 'login.failure', reason: 'bad_password', n: THRESHOLD },
      { type: 'login.failure', reason: 'locked', n: 50 - THRESHOLD },
      { type: 'login.lockout', reason: null, n: 1 },
    ]);
    // Both are locked: the right password does not get in.
    await attempt(b, { tenant: tenant.slug, email: parallel.email, password: PASSWORD }).expect(401);
  });

  it('lets the user back in when the lockout ends, with a fresh count; a success clears the count', async () => {
    const tenant = await makeTenant(t.ds);
    const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
    const key = `acct:${tenant.id}:${user.email}`;
    const b = await browser();
    for (let i = 0; i < THRESHOLD; i++) await attempt(b, { tenant: tenant.slug, email: user.email, password: 'nope-nope' }).expect(401);
    // The lockout ends (moved into the past rather than waited for).
    await t.ds.query(`UPDATE login_throttles SET locked_until = now() - interval '1 second' WHERE key = $1`, [key]);

    await attempt(b, { tenant: tenant.slug, email: user.email, password: 'nope-again' }).expect(401);
    const [afterOne] = await t.ds.query(`SELECT failures, locked_until FROM login_throttles WHERE key = $1`, [key]);
    expect(afterOne).toEqual({ failures: 1, locked_until: null });

    const ok = await attempt(b, { tenant: tenant.slug, email: user.email, password: PASSWORD }).expect(303);
    expect(ok.headers.location).toBe('/account');
    // The failures are cleared; the attempts (of any outcome) stay counted in their window.
    const [afterSuccess] = await t.ds.query(`SELECT failures, locked_until, attempts FROM login_throttles WHERE key = $1`, [key]);
    expect(afterSuccess).toEqual({ failures: 0, locked_until: null, attempts: THRESHOLD + 2 });
  });

  it('starts a new window when the old one has passed', async () => {
    const tenant = await makeTenant(t.ds);
    const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
    const key = `acct:${tenant.id}:${user.email}`;
    const b = await browser();
    for (let i = 0; i < THRESHOLD - 1; i++) await attempt(b, { tenant: tenant.slug, email: user.email, password: 'nope-nope' }).expect(401);
    await t.ds.query(`UPDATE login_throttles SET window_started_at = now() - interval '901 seconds' WHERE key = $1`, [key]);
    await attempt(b, { tenant: tenant.slug, email: user.email, password: 'nope-nope' }).expect(401);
    const [row] = await t.ds.query(`SELECT failures, locked_until FROM login_throttles WHERE key = $1`, [key]);
    expect(row).toEqual({ failures: 1, locked_until: null });
  });

  it('locks unknown accounts too, so a lockout does not reveal whether the email exists', async () => {
    const tenant = await makeTenant(t.ds);
    const b = await browser();
    for (let i = 0; i < THRESHOLD; i++) await attempt(b, { tenant: tenant.slug, email: 'ghost@example.com', password: 'nope-nope' }).expect(401);
    const [row] = await t.ds.query(`SELECT failures, locked_until > now() AS locked FROM login_throttles WHERE key = $1`, [
      `acct:${tenant.id}:ghost@example.com`,
    ]);
    expect(row).toEqual({ failures: THRESHOLD, locked: true });
  });

  it(`counts wrong current passwords on the account page toward the lockout: a stolen session cannot guess the password there`, async () => {
    const tenant = await makeTenant(t.ds);
    const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
    const jar = new CookieJar();
    const page = jar.store(await request(base).get('/login').expect(200));
    const signedIn = jar.store(
      await jar.on(request(base).post('/login')).set('X-Forwarded-For', uniqueIp()).type('form').send({ _csrf: csrfFieldOf(page.text), tenant: tenant.slug, email: user.email, password: PASSWORD }),
    );
    expect(signedIn.status).toBe(303);
    const account = await jar.on(request(base).get('/account')).expect(200);
    const csrf = csrfFieldOf(account.text);
    // Each guess from another IP: only the account's own count can stop them.
    const change = (current: string) =>
      jar.on(request(base).post('/account/password')).set('X-Forwarded-For', uniqueIp()).type('form').send({ _csrf: csrf, current, password: 'a brand new passphrase 42', confirm: 'a brand new passphrase 42' });

    for (let i = 0; i < THRESHOLD; i++) {
      const res = await change(`wrong-${i}`);
      expect(res.status).toBe(400);
      expect(res.text).toContain('The current password is not right');
    }
    // Locked: even the right current password changes nothing, and says why.
    const refused = await change(PASSWORD);
    expect(refused.status).toBe(429);
    expect(refused.text).toContain('Too many wrong passwords');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    const state = await accountState(tenant.id, user.email, user.id);
    expect(state.throttle).toEqual({ failures: THRESHOLD, locked: true });
    expect(state.events).toEqual([
      { type: 'login.lockout', reason: null, n: 1 },
      { type: 'login.success', reason: null, n: 1 },
    ]);
    // The sign-in form is locked as well: the right password does not get in.
    const b = await browser();
    await attempt(b, { tenant: tenant.slug, email: user.email, password: PASSWORD }).expect(401);
    // And the password is unchanged: the old one would work once the lockout ends.
    await t.ds.query(`UPDATE login_throttles SET locked_until = now() - interval '1 second' WHERE key = $1`, [`acct:${tenant.id}:${user.email}`]);
    await attempt(b, { tenant: tenant.slug, email: user.email, password: PASSWORD }).expect(303);
  });

  it(`throttles an IP after ${IP_LIMIT} failures: 429 with Retry-After and the form, other IPs unaffected`, async () => {
    const tenant = await makeTenant(t.ds);
    const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
    const ip = '203.0.113.7';
    const b = await browser();
    // Failures on different (unknown) accounts: the IP counter is what trips.
    for (let i = 0; i < IP_LIMIT; i++) {
      await attempt(b, { tenant: tenant.slug, email: `nobody-${i}@example.com`, password: 'nope-nope', ip }).expect(401);
    }
    const events = Number((await t.ds.query(`SELECT count(*)::int AS n FROM audit_events`))[0].n);
    const throttled = await attempt(b, { tenant: tenant.slug, email: user.email, password: PASSWORD, ip }).expect(429);
    expect(Number(throttled.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(throttled.headers['retry-after'])).toBeLessThanOrEqual(600);
    expect(throttled.headers['content-type']).toMatch(/^text\/html/);
    expect(throttled.text).toContain('Too many sign-in attempts');
    expect(throttled.text).toContain('<form method="post" action="/login"');
    // Refused before any work: nothing counted against the account, nothing audited.
    expect(await t.ds.query(`SELECT 1 FROM login_throttles WHERE key = $1`, [`acct:${tenant.id}:${user.email}`])).toHaveLength(0);
    expect(Number((await t.ds.query(`SELECT count(*)::int AS n FROM audit_events`))[0].n)).toBe(events);

    await attempt(b, { tenant: tenant.slug, email: user.email, password: PASSWORD, ip: '203.0.113.8' }).expect(303);
  });
});
