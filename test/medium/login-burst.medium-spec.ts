import request from 'supertest';
import { PasswordsService } from '../../src/users/passwords.service';
import { makeApiKey, makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { CookieJar, csrfFieldOf } from '../support/cookie-jar';

const PASSWORD = 'correct horse battery staple';
const THRESHOLD = 10;
const IP_LIMIT = 20;
const BURST = 100;

/**
 * a burst of parallel logins must not get past the lockout. The lockout
 * decides BEFORE the password is verified, so a burst of 100 costs at most THRESHOLD argon2id
 * verifications and the right password, arriving among them, is refused once the account is
 * locked. Verifications are counted by spying on PasswordsService (the real hashing still runs).
 */
describe('login bursts (lockout decided before verification)', () => {
  let t: TestApp;
  let base: string;
  let passwords: PasswordsService;
  let verifications: () => number;

  beforeAll(async () => {
    t = await createTestApp({
      env: {
        TRUST_PROXY: 'loopback',
        LOGIN_LOCKOUT_THRESHOLD: String(THRESHOLD),
        LOGIN_LOCKOUT_WINDOW: '900',
        LOGIN_LOCKOUT_DURATION: '900',
        LOGIN_IP_LIMIT: String(IP_LIMIT),
        LOGIN_IP_WINDOW: '600',
        // Every attempt of a burst reaches the counters here; the per-client caps in front of
        // the hash slots (a 429 before any verification) are login-fairness.medium-spec's subject.
        LOGIN_IP_CONCURRENCY: '1000',
      },
    });
    base = await t.listen();
    passwords = t.app.get(PasswordsService);
    const verify = jest.spyOn(passwords, 'verify');
    const dummy = jest.spyOn(passwords, 'verifyDummy');
    verifications = () => verify.mock.calls.length + dummy.mock.calls.length;
  });
  afterAll(async () => {
    jest.restoreAllMocks();
    await t.close();
  });

  async function browser() {
    const jar = new CookieJar();
    const page = jar.store(await request(base).get('/login').expect(200));
    return { jar, csrf: csrfFieldOf(page.text) };
  }

  function attempt(b: { jar: CookieJar; csrf: string }, p: { tenant: string; email: string; password: string; ip: string }) {
    return b.jar
      .on(request(base).post('/login'))
      .set('X-Forwarded-For', p.ip)
      .type('form')
      .send({ _csrf: b.csrf, tenant: p.tenant, email: p.email, password: p.password });
  }

  const events = async (userId: string) =>
    t.ds.query(
      `SELECT id::int, type, details->>'reason' AS reason FROM audit_events
        WHERE details->>'userId' = $1 AND type LIKE 'login.%' ORDER BY id`,
      [userId],
    ) as Promise<{ id: number; type: string; reason: string | null }[]>;

  it(`${BURST} parallel attempts on one account (${BURST - 1} wrong, 1 right): at most ${THRESHOLD} verified, the right one refused once locked`, async () => {
    const tenant = await makeTenant(t.ds);
    const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
    const b = await browser();
    const before = verifications();
    // Every attempt from its own IP: a distributed guesser, so only the account lockout is in play.
    const statuses = (
      await Promise.all(
        Array.from({ length: BURST }, (_, i) =>
          attempt(b, { tenant: tenant.slug, email: user.email, password: i === BURST - 1 ? PASSWORD : `wrong-${i}`, ip: `10.9.${i >> 8}.${i & 255}` }),
        ),
      )
    ).map((r) => r.status);

    const verified = verifications() - before;
    const log = await events(user.id);
    const lockout = log.find((e) => e.type === 'login.lockout');
    expect(lockout).toBeDefined();
    expect(log.filter((e) => e.type === 'login.lockout')).toHaveLength(1);
    const success = log.find((e) => e.type === 'login.success');
    // A success (only when the right password was among the first THRESHOLD, rare as it is
    // sent last) clears the count, and the attempts still arriving get a fresh THRESHOLD.
    expect(verified).toBeLessThanOrEqual(success ? 2 * THRESHOLD : THRESHOLD);
    // A success is only possible while the account was not yet locked (it was one of the first
    // THRESHOLD attempts); never after the lockout was recorded.
    if (success) expect(success.id).toBeLessThan(lockout!.id);
    else expect(statuses[BURST - 1]).toBe(401);
    expect(statuses.filter((s) => s === 401).length).toBeGreaterThanOrEqual(BURST - 1);
    expect(log.filter((e) => e.reason === 'bad_password').length).toBeLessThanOrEqual(THRESHOLD);

    // Locked: the right password is refused, without a verification.
    const afterBurst = verifications();
    await attempt(b, { tenant: tenant.slug, email: user.email, password: PASSWORD, ip: '10.9.255.1' }).expect(401);
    expect(verifications()).toBe(afterBurst);
  });

  it(`${BURST} parallel attempts from one IP: at most ${IP_LIMIT} verified, the rest 429 at once, the right password too`, async () => {
    const tenant = await makeTenant(t.ds);
    const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
    const b = await browser();
    const ip = '198.51.100.77';
    const before = verifications();
    const responses = await Promise.all(
      Array.from({ length: BURST }, (_, i) =>
        i === BURST - 1
          ? attempt(b, { tenant: tenant.slug, email: user.email, password: PASSWORD, ip })
          : attempt(b, { tenant: tenant.slug, email: `nobody-${i}@example.com`, password: 'nope-nope', ip }),
      ),
    );
    expect(verifications() - before).toBeLessThanOrEqual(IP_LIMIT);
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(BURST - IP_LIMIT);
    for (const r of responses.filter((x) => x.status === 429)) expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
    expect((await events(user.id)).filter((e) => e.type === 'login.success')).toHaveLength(statuses[BURST - 1] === 303 ? 1 : 0);

    const afterBurst = verifications();
    await attempt(b, { tenant: tenant.slug, email: user.email, password: PASSWORD, ip }).expect(429);
    expect(verifications()).toBe(afterBurst);
    // Another IP is not affected.
    await attempt(b, { tenant: tenant.slug, email: user.email, password: PASSWORD, ip: '198.51.100.78' }).expect(303);
  });

  it('answers 429 with Retry-After at once when the hash queue is full, for a login and for the admin API', async () => {
    const tenant = await makeTenant(t.ds);
    const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
    const key = await makeApiKey(t.ds);
    const b = await browser();
    // Fill every slot and the whole waiting line with hashes that end when the test says so
    // (real argon2id runs would drain at the machine's speed and race the requests).
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const backlog = Array.from({ length: passwords.slots.capacity }, () => passwords.slots.run(() => gate));
    try {
      const login = await attempt(b, { tenant: tenant.slug, email: user.email, password: PASSWORD, ip: '192.0.2.10' });
      const created = await request(base)
        .post(`/api/v1/tenants/${tenant.id}/users`)
        .set('Authorization', `Bearer ${key}`)
        .send({ email: 'new-user@example.com', firstName: 'New', lastName: 'User', password: 'a long enough password 1' });
      expect(login.status).toBe(429);
      expect(Number(login.headers['retry-after'])).toBeGreaterThan(0);
      expect(login.text).toContain('<form method="post" action="/login"');
      expect(created.status).toBe(429);
      expect(Number(created.headers['retry-after'])).toBeGreaterThan(0);
      expect(created.body.error).toBe('busy');
      // Nothing was counted against the account or the IP for a login that was never verified.
      const [counted] = await t.ds.query(`SELECT coalesce(sum(failures), 0)::int AS n FROM login_throttles WHERE key IN ($1, $2)`, [
        `acct:${tenant.id}:${user.email}`,
        'ip:192.0.2.10',
      ]);
      expect(counted.n).toBe(0);
    } finally {
      release();
      await Promise.all(backlog);
    }
    await attempt(b, { tenant: tenant.slug, email: user.email, password: PASSWORD, ip: '192.0.2.10' }).expect(303);
  });
});
