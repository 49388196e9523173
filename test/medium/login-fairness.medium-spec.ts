import request from 'supertest';
import { hashPassword, PasswordsService } from '../../src/users/passwords.service';
import { makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { CookieJar, csrfFieldOf } from '../support/cookie-jar';

const PASSWORD = 'correct horse battery staple';
const BYSTANDER_PASSWORD = 'a bystander with a password of her own';
const ACCOUNTS = 20;
const IN_FLIGHT = 90;

async function browser(base: string) {
  const jar = new CookieJar();
  const page = jar.store(await request(base).get('/login').expect(200));
  return { jar, csrf: csrfFieldOf(page.text) };
}

function attempt(base: string, b: { jar: CookieJar; csrf: string }, p: { tenant: string; email: string; password: string; ip: string }) {
  return b.jar
    .on(request(base).post('/login'))
    .set('X-Forwarded-For', p.ip)
    .type('form')
    .send({ _csrf: b.csrf, tenant: p.tenant, email: p.email, password: p.password });
}

/**
 * One client must not take the whole password-hash queue with RIGHT passwords (the failure
 * counters never see them): its verifications are capped while in flight, clients waiting for
 * a hash slot take turns, and attempts of any outcome are limited per IP and per account.
 */
describe('login fairness between clients', () => {
  describe('with the shipped defaults', () => {
    let t: TestApp;
    let base: string;

    beforeAll(async () => {
      t = await createTestApp({ env: { TRUST_PROXY: 'loopback' } });
      base = await t.listen();
    });
    afterAll(async () => {
      jest.restoreAllMocks();
      await t.close();
    });

    it(`a bystander is served promptly while one IP floods right passwords for ${ACCOUNTS} accounts, ${IN_FLIGHT} in flight`, async () => {
      const tenant = await makeTenant(t.ds);
      // Real-cost hashes (the factories hash cheaply): the flood must occupy the hash slots
      // as a real one does.
      const [floodHash, bystanderHash] = await Promise.all([hashPassword(PASSWORD), hashPassword(BYSTANDER_PASSWORD)]);
      const accounts = await Promise.all(Array.from({ length: ACCOUNTS }, () => makeUser(t.ds, tenant.id)));
      await t.ds.query(`UPDATE users SET password_hash = $1 WHERE id = ANY($2)`, [floodHash, accounts.map((a) => a.id)]);
      const bystander = await makeUser(t.ds, tenant.id);
      await t.ds.query(`UPDATE users SET password_hash = $1 WHERE id = $2`, [bystanderHash, bystander.id]);

      // The order verifications are asked for and finish in, told apart by the stored hash
      // (a timing-free signal: how many of the flooder's verifications were served while the
      // bystander's waited).
      const passwords = t.app.get(PasswordsService);
      const original = passwords.verify.bind(passwords);
      const trace: string[] = [];
      jest.spyOn(passwords, 'verify').mockImplementation(async (...args: Parameters<PasswordsService['verify']>) => {
        const who = args[0] === bystanderHash ? 'B' : 'F';
        trace.push(`${who}:asked`);
        // Only verifications that ran count as served (a refusal for capacity is not one).
        const ok = await original(...args).catch((e: unknown) => {
          trace.push(`${who}:refused`);
          throw e;
        });
        trace.push(`${who}:done`);
        return ok;
      });

      const flooder = await browser(base);
      const statuses: number[] = [];
      let stop = false;
      const worker = async (w: number) => {
        for (let i = 0; !stop && i < 400; i++) {
          const acct = accounts[(w + i) % ACCOUNTS];
          const res = await attempt(base, flooder, { tenant: tenant.slug, email: acct.email, password: PASSWORD, ip: '203.0.113.9' });
          statuses.push(res.status);
        }
      };
      const flood = Promise.all(Array.from({ length: IN_FLIGHT }, (_, w) => worker(w)));
      // Let the flood fill the line first (or end, when it is refused altogether).
      let ended = false;
      void flood.then(() => (ended = true));
      while (!ended && trace.filter((e) => e === 'F:asked').length < 2 * IN_FLIGHT) await new Promise((r) => setTimeout(r, 5));

      const b = await browser(base);
      const answer = await attempt(base, b, { tenant: tenant.slug, email: bystander.email, password: BYSTANDER_PASSWORD, ip: '198.51.100.200' });
      stop = true;
      await flood;

      const asked = trace.indexOf('B:asked');
      const done = trace.indexOf('B:done');
      const servedAhead = trace.slice(asked, done).filter((e) => e === 'F:done').length;
      const tally = statuses.reduce<Record<number, number>>((m, s) => ({ ...m, [s]: (m[s] ?? 0) + 1 }), {});
      // eslint-disable-next-line no-console
      console.log(`flooder answers ${JSON.stringify(tally)}; flooder verifications served while the bystander waited: ${servedAhead}`);
      expect(answer.status).toBe(303);
      // A FIFO line full of the flooder's requests would serve all of them first; taking turns
      // serves at most the ones already hashing plus one turn.
      expect(servedAhead).toBeLessThanOrEqual(2 * passwords.slots.size + 1);
      // Real-cost hashes: on a loaded 2-core machine the flood alone can take over a minute.
    }, 180_000);
  });

  describe('limits on attempts of any outcome', () => {
    let t: TestApp;
    let base: string;

    beforeAll(async () => {
      t = await createTestApp({
        env: { TRUST_PROXY: 'loopback', LOGIN_IP_ATTEMPT_LIMIT: '6', LOGIN_ACCOUNT_ATTEMPT_LIMIT: '4', LOGIN_IP_WINDOW: '600', LOGIN_LOCKOUT_WINDOW: '600' },
      });
      base = await t.listen();
    });
    afterAll(async () => {
      await t.close();
    });

    it('answers 429 with Retry-After once an IP has used LOGIN_IP_ATTEMPT_LIMIT, right passwords included; other IPs are not affected', async () => {
      const tenant = await makeTenant(t.ds);
      const users = await Promise.all(Array.from({ length: 8 }, () => makeUser(t.ds, tenant.id, { password: PASSWORD })));
      const b = await browser(base);
      const ip = '203.0.113.20';
      for (let i = 0; i < 6; i++) await attempt(base, b, { tenant: tenant.slug, email: users[i].email, password: PASSWORD, ip }).expect(303);
      const refused = await attempt(base, b, { tenant: tenant.slug, email: users[6].email, password: PASSWORD, ip }).expect(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(500);
      expect(refused.text).toContain('Too many sign-in attempts');
      await attempt(base, b, { tenant: tenant.slug, email: users[6].email, password: PASSWORD, ip: '203.0.113.21' }).expect(303);
    });

    it('answers 429 with Retry-After once an account has used LOGIN_ACCOUNT_ATTEMPT_LIMIT, from any IPs', async () => {
      const tenant = await makeTenant(t.ds);
      const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
      const b = await browser(base);
      for (let i = 0; i < 4; i++) await attempt(base, b, { tenant: tenant.slug, email: user.email, password: PASSWORD, ip: `203.0.113.${30 + i}` }).expect(303);
      const refused = await attempt(base, b, { tenant: tenant.slug, email: user.email, password: PASSWORD, ip: '203.0.113.40' }).expect(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(500);
      // Unknown accounts are counted the same way: the answer does not tell whether one exists.
      for (let i = 0; i < 4; i++) await attempt(base, b, { tenant: tenant.slug, email: 'nobody@example.com', password: PASSWORD, ip: `203.0.113.${50 + i}` }).expect(401);
      await attempt(base, b, { tenant: tenant.slug, email: 'nobody@example.com', password: PASSWORD, ip: '203.0.113.60' }).expect(429);
    });
  });
});
