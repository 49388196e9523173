import request from 'supertest';
import { makeApiKey, makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { CookieJar, csrfFieldOf, signIn } from '../support/cookie-jar';
import { linkIn, TestSmtp } from '../support/smtp';
import { RESET_IP_LIMIT } from '../../src/auth/accounts/accounts.service';

/**
 * Invitations, password resets and changes end to end over HTTP, every mail received by a real
 * SMTP server: links work once, expired / used / withdrawn links are refused, "Forgot
 * password?" answers the same for unknown accounts.
 */
describe('accounts: invitations, resets, changes (mail over SMTP)', () => {
  const smtp = new TestSmtp();
  let t: TestApp;
  let key: string;
  let tenant: { id: string; slug: string };
  const STRONG = 'a bystander with a password of her own';
  const STRONGER = 'seven quiet lanterns over tallinn';

  beforeAll(async () => {
    await smtp.start();
    t = await createTestApp({ env: { SMTP_URL: smtp.url, MAIL_FROM: 'sign-in@idp.example.test' } });
    key = await makeApiKey(t.ds);
    tenant = await makeTenant(t.ds, { name: 'Acme' });
  });
  afterAll(async () => {
    await t.close();
    await smtp.stop();
  });

  const api = () => ({
    post: (p: string) => request(t.http).post(p).set('Authorization', `Bearer ${key}`),
    get: (p: string) => request(t.http).get(p).set('Authorization', `Bearer ${key}`),
    delete: (p: string) => request(t.http).delete(p).set('Authorization', `Bearer ${key}`),
  });
  const pathOf = (link: string) => {
    const u = new URL(link);
    return `${u.pathname}${u.search}`;
  };
  const tokenOf = (link: string) => new URL(link).searchParams.get('token')!;
  const audit = (type: string) => t.ds.query(`SELECT actor, details FROM audit_events WHERE type = $1 AND tenant_id = $2 ORDER BY id`, [type, tenant.id]);

  async function invite(email: string): Promise<{ id: string; link: string }> {
    const before = smtp.received.length;
    const res = await api().post(`/api/v1/tenants/${tenant.id}/invitations`).send({ email, firstName: 'Ada' }).expect(201);
    expect(res.body).toMatchObject({ email, delivery: 'email' });
    expect(res.body.link).toBeUndefined();
    const mail = await smtp.waitForTo(email, before);
    return { id: res.body.id, link: linkIn(mail.text) };
  }

  async function setPassword(jar: CookieJar, link: string, password: string, confirm = password) {
    const page = jar.store(await jar.on(request(t.http).get(pathOf(link))));
    if (page.status !== 200) return page;
    const action = /action="([^"]+)"/.exec(page.text.split('<form')[1])![1];
    return jar.store(await jar.on(request(t.http).post(action)).type('form').send({ _csrf: csrfFieldOf(page.text), token: tokenOf(link), password, confirm }));
  }

  describe('invitations', () => {
    it('mails a link that sets the password and signs the person in; the link works once; audited', async () => {
      const { link } = await invite('ada@acme.test');
      const mail = smtp.lastTo('ada@acme.test')!;
      expect(mail.subject).toBe('You are invited to sign in');
      expect(mail.html).toContain('“Acme”');
      const [row] = await t.ds.query(`SELECT token_hash FROM account_links WHERE purpose = 'invitation' ORDER BY created_at DESC LIMIT 1`);
      expect(row.token_hash).not.toContain(tokenOf(link));
      expect(row.token_hash).toMatch(/^[0-9a-f]{64}$/);

      const jar = new CookieJar();
      const done = await setPassword(jar, link, STRONG);
      expect(done.status).toBe(303);
      expect(done.headers.location).toBe('/account');
      const account = await jar.on(request(t.http).get('/account')).expect(200);
      expect(account.text).toContain('ada@acme.test');

      // Once only.
      const again = await setPassword(new CookieJar(), link, STRONGER);
      expect(again.status).toBe(400);
      expect(again.text).toContain('This link no longer works');
      expect(await signIn(request(t.http), new CookieJar(), { tenant: tenant.slug, email: 'ada@acme.test', password: STRONG })).toMatchObject({ status: 303 });
      expect((await audit('invitation.created')).at(-1).details).toMatchObject({ email: 'ada@acme.test', delivery: 'email' });
      expect((await audit('invitation.accepted')).at(-1).details).toMatchObject({ email: 'ada@acme.test' });
    });

    it('a weak password is refused in words and leaves the link usable', async () => {
      const { link } = await invite('weak@acme.test');
      const jar = new CookieJar();
      const weak = await setPassword(jar, link, 'password1234');
      expect(weak.status).toBe(400);
      expect(weak.text).toContain('too easy to guess');
      const mismatch = await setPassword(jar, link, STRONG, `${STRONG}!`);
      expect(mismatch.status).toBe(400);
      expect(mismatch.text).toContain('not the same');
      expect((await setPassword(jar, link, STRONG)).status).toBe(303);
    });

    it('ends the session the browser held (another person\'s) when the invitation signs in', async () => {
      const other = await makeUser(t.ds, tenant.id, { email: 'holder@acme.test', password: STRONG });
      const jar = new CookieJar();
      expect((await signIn(request(t.http), jar, { tenant: tenant.slug, email: other.email, password: STRONG })).status).toBe(303);
      const held = jar.get('eidp_session')!;
      const { link } = await invite('newcomer@acme.test');
      const done = await setPassword(jar, link, STRONGER);
      expect(done.status).toBe(303);
      expect(jar.get('eidp_session')).not.toBe(held);
      // The old cookie, replayed, no longer works: its session was revoked, not only replaced.
      const stale = await request(t.http).get('/account').set('Cookie', `eidp_session=${held}`);
      expect(stale.status).toBe(303);
      const [row] = await t.ds.query(`SELECT count(*)::int AS live FROM sessions WHERE user_id = $1 AND revoked_at IS NULL`, [other.id]);
      expect(row.live).toBe(0);
    });

    it('refuses an expired link, and a withdrawn one (audited)', async () => {
      const expired = await invite('late@acme.test');
      await t.ds.query(`UPDATE account_links SET expires_at = now() - interval '1 second' WHERE id = $1`, [expired.id]);
      expect((await setPassword(new CookieJar(), expired.link, STRONG)).status).toBe(400);

      const withdrawn = await invite('withdrawn@acme.test');
      const open = await api().get(`/api/v1/tenants/${tenant.id}/invitations`).expect(200);
      expect(open.body.map((i: { email: string }) => i.email)).toContain('withdrawn@acme.test');
      await api().delete(`/api/v1/tenants/${tenant.id}/invitations/${withdrawn.id}`).expect(204);
      await api().delete(`/api/v1/tenants/${tenant.id}/invitations/${withdrawn.id}`).expect(404);
      expect((await setPassword(new CookieJar(), withdrawn.link, STRONG)).status).toBe(400);
      expect((await audit('invitation.revoked')).at(-1).details).toMatchObject({ invitationId: withdrawn.id });
    });

    it('a second invitation withdraws the first link; a user with a password is a 409', async () => {
      const first = await invite('twice@acme.test');
      const second = await invite('twice@acme.test');
      expect((await setPassword(new CookieJar(), first.link, STRONG)).status).toBe(400);
      expect((await setPassword(new CookieJar(), second.link, STRONG)).status).toBe(303);
      const res = await api().post(`/api/v1/tenants/${tenant.id}/invitations`).send({ email: 'twice@acme.test' }).expect(409);
      expect(res.body.message).toContain('Forgot password?');
    });

    it('follows the identity rules: an email in a domain another tenant owns is a 409 and leaves nothing; the same email in another tenant is its own user', async () => {
      const owner = await makeTenant(t.ds, { name: 'Initech' });
      await t.ds.query(`INSERT INTO email_domains (domain, tenant_id) VALUES ('initech.example', $1)`, [owner.id]);
      const before = smtp.received.length;
      const refused = await api().post(`/api/v1/tenants/${tenant.id}/invitations`).send({ email: 'Peter@Initech.example' }).expect(409);
      expect(refused.body.error).toBe('email_domain_owned');
      expect(refused.body.message).toContain('initech.example');
      expect(await t.ds.query(`SELECT id FROM users WHERE tenant_id = $1 AND email = 'peter@initech.example'`, [tenant.id])).toEqual([]);
      expect(await t.ds.query(`SELECT l.id FROM account_links l JOIN users u ON u.id = l.user_id WHERE u.email = 'peter@initech.example'`)).toEqual([]);
      expect(await t.ds.query(`SELECT id FROM mail_outbox WHERE to_address = 'peter@initech.example'`)).toEqual([]);
      // The owner invites it; a tenant owning no domain may invite an address another tenant has as a user.
      const own = await api().post(`/api/v1/tenants/${owner.id}/invitations`).send({ email: 'peter@initech.example' }).expect(201);
      expect(own.body.delivery).toBe('email');
      await makeUser(t.ds, owner.id, { email: 'shared@elsewhere.example', password: STRONG });
      const shared = await invite('shared@elsewhere.example');
      const done = await setPassword(new CookieJar(), shared.link, STRONGER);
      expect(done.status).toBe(303);
      const rows = await t.ds.query(`SELECT tenant_id FROM users WHERE email = 'shared@elsewhere.example' ORDER BY tenant_id`);
      expect(rows.map((r: { tenant_id: string }) => r.tenant_id).sort()).toEqual([owner.id, tenant.id].sort());
      expect(smtp.received.length).toBeGreaterThan(before);
    });

    it('a tenant admin\'s key invites into its own tenant only', async () => {
      const scoped = await makeApiKey(t.ds, tenant.id);
      const other = await makeTenant(t.ds);
      const as = (path: string) => request(t.http).post(path).set('Authorization', `Bearer ${scoped}`);
      const res = await as(`/api/v1/tenants/${tenant.slug}/invitations`).send({ email: 'scoped@acme.test' }).expect(201);
      expect(res.body).toMatchObject({ email: 'scoped@acme.test', delivery: 'email' });
      // Another tenant is not even there for it (the scope rule of every tenant route).
      await as(`/api/v1/tenants/${other.id}/invitations`).send({ email: 'scoped@acme.test' }).expect(404);
      expect(await t.ds.query(`SELECT id FROM users WHERE tenant_id = $1`, [other.id])).toEqual([]);
    });

    it('a tenant admin invites and withdraws in the console, for their own organization only', async () => {
      const ADMIN_PASSWORD = 'quiet lanterns for the admin';
      const admin = await makeUser(t.ds, tenant.id, { email: 'boss@acme.test', password: ADMIN_PASSWORD });
      await t.ds.query(`UPDATE users SET role = 'tenant_admin' WHERE id = $1`, [admin.id]);
      const jar = new CookieJar();
      expect((await signIn(request(t.http), jar, { tenant: tenant.slug, email: 'boss@acme.test', password: ADMIN_PASSWORD })).status).toBe(303);
      const page = jar.store(await jar.on(request(t.http).get(`/console/tenants/${tenant.id}/invitations`)).expect(200));
      const before = smtp.received.length;
      const sent = await jar.on(request(t.http).post(`/console/tenants/${tenant.id}/invitations`)).type('form').send({ _csrf: csrfFieldOf(page.text), email: 'console@acme.test', firstName: 'Con' });
      expect(sent.status).toBe(303);
      expect(sent.headers.location).toContain('done=invitation-sent');
      const link = linkIn((await smtp.waitForTo('console@acme.test', before)).text);
      const listed = await jar.on(request(t.http).get(`/console/tenants/${tenant.id}/invitations`)).expect(200);
      expect(listed.text).toContain('console@acme.test');
      const [open] = await t.ds.query(`SELECT l.id FROM account_links l JOIN users u ON u.id = l.user_id WHERE u.email = 'console@acme.test' AND l.revoked_at IS NULL`);
      const withdrawn = await jar.on(request(t.http).post(`/console/tenants/${tenant.id}/invitations/${open.id}/revoke`)).type('form').send({ _csrf: csrfFieldOf(listed.text) });
      expect(withdrawn.status).toBe(303);
      expect((await setPassword(new CookieJar(), link, STRONG)).status).toBe(400);
      const [ev] = await t.ds.query(`SELECT actor FROM audit_events WHERE type = 'invitation.revoked' AND details->>'invitationId' = $1`, [open.id]);
      expect(ev.actor).toBe(`user:${admin.id}`);
      // Another organization's invitations are not theirs.
      const other = await makeTenant(t.ds);
      expect([403, 404]).toContain((await jar.on(request(t.http).get(`/console/tenants/${other.id}/invitations`))).status);
      const refused = await jar.on(request(t.http).post(`/console/tenants/${other.id}/invitations`)).type('form').send({ _csrf: csrfFieldOf(listed.text), email: 'x@acme.test' });
      expect([403, 404]).toContain(refused.status);
      expect(await t.ds.query(`SELECT id FROM users WHERE tenant_id = $1`, [other.id])).toEqual([]);
    });

    it('refuses a malformed token or bad body in words', async () => {
      await request(t.http).get('/account/invitation?token=nope').expect(400);
      await request(t.http).get('/account/invitation').expect(400);
      const res = await api().post(`/api/v1/tenants/${tenant.id}/invitations`).send({ email: 'not-an-email' }).expect(400);
      expect(JSON.stringify(res.body)).toContain('Email must be an email address');
    });
  });

  describe('password reset', () => {
    /** Every request comes from 127.0.0.1 here (no TRUST_PROXY): the per-IP limit (30 an hour) is far off. */
    async function forgot(jar: CookieJar, form: { tenant: string; email: string }) {
      const page = jar.store(await jar.on(request(t.http).get('/login/forgot')).expect(200));
      const started = process.hrtime.bigint();
      const res = jar.store(await jar.on(request(t.http).post('/login/forgot')).type('form').send({ _csrf: csrfFieldOf(page.text), ...form }));
      return { res, ms: Number(process.hrtime.bigint() - started) / 1e6 };
    }

    it('the login page links to it', async () => {
      const page = await request(t.http).get('/login').expect(200);
      expect(page.text).toContain('href="/login/forgot"');
    });

    it('mails a 30-minute single-use link; the reset ends every session, clears the lockout, and the new password signs in', async () => {
      const user = await makeUser(t.ds, tenant.id, { email: 'grace@acme.test', password: STRONG });
      const jar = new CookieJar();
      expect((await signIn(request(t.http), jar, { tenant: tenant.slug, email: 'grace@acme.test', password: STRONG })).status).toBe(303);
      // Locked out by someone guessing (the login's account counter).
      await t.ds.query(
        `INSERT INTO login_throttles (key, failures, window_started_at, locked_until) VALUES ($1, 10, now(), now() + interval '1 hour')
         ON CONFLICT (key) DO UPDATE SET failures = 10, locked_until = now() + interval '1 hour'`,
        [`acct:${tenant.id}:grace@acme.test`],
      );
      expect((await signIn(request(t.http), new CookieJar(), { tenant: tenant.slug, email: 'grace@acme.test', password: STRONG })).status).toBe(401);
      const before = smtp.received.length;
      const { res } = await forgot(new CookieJar(), { tenant: tenant.slug, email: 'Grace@Acme.test' });
      expect(res.status).toBe(200);
      const mail = await smtp.waitForTo('grace@acme.test', before);
      expect(mail.subject).toBe('Reset your password');
      const link = linkIn(mail.text);
      const [row] = await t.ds.query(`SELECT extract(epoch FROM expires_at - created_at)::int AS life FROM account_links WHERE user_id = $1 AND purpose = 'password_reset'`, [user.id]);
      expect(row.life).toBe(1800);

      const done = await setPassword(new CookieJar(), link, STRONGER);
      expect(done.status).toBe(200);
      expect(done.text).toContain('Password changed');
      // The old session is over.
      expect((await jar.on(request(t.http).get('/account'))).status).toBe(303);
      expect((await setPassword(new CookieJar(), link, STRONG)).status).toBe(400);
      expect((await signIn(request(t.http), new CookieJar(), { tenant: tenant.slug, email: 'grace@acme.test', password: STRONG })).status).toBe(401);
      expect((await signIn(request(t.http), new CookieJar(), { tenant: tenant.slug, email: 'grace@acme.test', password: STRONGER })).status).toBe(303);
      expect((await audit('password_reset.completed')).at(-1).details).toMatchObject({ userId: user.id, sessionsEnded: 1 });
    });

    it('refuses an expired reset link, leaving the password as it was', async () => {
      const user = await makeUser(t.ds, tenant.id, { email: 'expired@acme.test', password: STRONG });
      const before = smtp.received.length;
      await forgot(new CookieJar(), { tenant: tenant.slug, email: 'expired@acme.test' });
      const link = linkIn((await smtp.waitForTo('expired@acme.test', before)).text);
      await t.ds.query(`UPDATE account_links SET expires_at = now() - interval '1 second' WHERE user_id = $1 AND purpose = 'password_reset'`, [user.id]);
      const page = await request(t.http).get(pathOf(link));
      expect(page.status).toBe(400);
      expect(page.text).toContain('This link no longer works');
      // Posted straight to the form (a page opened before it expired).
      const jar = new CookieJar();
      const login = jar.store(await jar.on(request(t.http).get('/login')).expect(200));
      const post = await jar.on(request(t.http).post('/account/reset')).type('form').send({ _csrf: csrfFieldOf(login.text), token: tokenOf(link), password: STRONGER, confirm: STRONGER });
      expect(post.status).toBe(400);
      expect(post.text).toContain('This link no longer works');
      expect((await signIn(request(t.http), new CookieJar(), { tenant: tenant.slug, email: 'expired@acme.test', password: STRONG })).status).toBe(303);
    });

    it('answers an unknown email and an unknown organization exactly as a known account (body, status, and time)', async () => {
      await makeUser(t.ds, tenant.id, { email: 'known@acme.test', password: STRONG });
      const normalise = (s: string) => s.replace(/name="_csrf" value="[^"]+"/g, '').replace(/tenant=[^"&]+/g, 'tenant=X');
      const known: number[] = [];
      const unknown: number[] = [];
      let bodies: string[] = [];
      for (let i = 0; i < 3; i++) {
        const a = await forgot(new CookieJar(), { tenant: tenant.slug, email: 'known@acme.test' });
        const b = await forgot(new CookieJar(), { tenant: tenant.slug, email: `nobody${i}@acme.test` });
        const c = await forgot(new CookieJar(), { tenant: 'no-such-org', email: 'known@acme.test' });
        expect([a.res.status, b.res.status, c.res.status]).toEqual([200, 200, 200]);
        bodies = [a.res.text, b.res.text, c.res.text].map(normalise);
        expect(new Set(bodies).size).toBe(1);
        known.push(a.ms);
        unknown.push(b.ms, c.ms);
      }
      const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
      // A coarse check only (a loaded machine moves medians by a few hundred ms): the precise proof
      // that no work depends on the account before the answer is the locked-table test below.
      expect(Math.abs(median(known) - median(unknown))).toBeLessThan(750);
    });

    it('answers before it looks the account up: a known account’s answer does not wait for its link and mail', async () => {
      await makeUser(t.ds, tenant.id, { email: 'blocked@acme.test', password: STRONG });
      // Hold the links table: writing this account's link waits until the COMMIT below.
      const qr = t.ds.createQueryRunner();
      await qr.connect();
      await qr.startTransaction();
      await qr.query(`LOCK TABLE account_links IN EXCLUSIVE MODE`);
      const before = smtp.received.length;
      try {
        const { res, ms } = await forgot(new CookieJar(), { tenant: tenant.slug, email: 'blocked@acme.test' });
        expect(res.status).toBe(200);
        expect(res.text).toContain('Check your email');
        expect(ms).toBeLessThan(2000);
      } finally {
        await qr.commitTransaction();
        await qr.release();
      }
      expect((await smtp.waitForTo('blocked@acme.test', before)).subject).toBe('Reset your password');
    });

    it('is rate-limited per account (known or not) and per IP, with the same 429 either way', async () => {
      for (const email of ['limit@acme.test', 'limit-unknown@acme.test']) {
        if (email === 'limit@acme.test') await makeUser(t.ds, tenant.id, { email, password: STRONG });
        for (let i = 0; i < 3; i++) expect((await forgot(new CookieJar(), { tenant: tenant.slug, email })).res.status).toBe(200);
        const over = await forgot(new CookieJar(), { tenant: tenant.slug, email });
        expect(over.res.status).toBe(429);
        expect(over.res.text).toContain('Too many reset requests');
        expect(over.res.headers['retry-after']).toBeDefined();
      }
    });

    it('refuses a form without its CSRF token or with bad fields, in words', async () => {
      const res = await request(t.http).post('/login/forgot').type('form').send({ tenant: tenant.slug, email: 'x@acme.test' });
      expect(res.status).toBe(400);
      expect(res.text).toContain('This form expired');
      const bad = await forgot(new CookieJar(), { tenant: 'Not A Slug!', email: 'nope' });
      expect(bad.res.status).toBe(400);
      expect(bad.res.text).toContain('Enter your email address');
    });
  });

  describe('change password (account page)', () => {
    it('needs the current password; ends the other sessions, keeps this one; mails a notice; audited', async () => {
      const user = await makeUser(t.ds, tenant.id, { email: 'linus@acme.test', password: STRONG });
      const other = new CookieJar();
      await signIn(request(t.http), other, { tenant: tenant.slug, email: 'linus@acme.test', password: STRONG });
      const jar = new CookieJar();
      await signIn(request(t.http), jar, { tenant: tenant.slug, email: 'linus@acme.test', password: STRONG });
      const page = await jar.on(request(t.http).get('/account')).expect(200);
      expect(page.text).toContain('Change password');
      const csrf = csrfFieldOf(page.text);
      const post = (form: Record<string, string>) => jar.on(request(t.http).post('/account/password')).type('form').send({ _csrf: csrf, ...form });

      const wrong = await post({ current: 'not my password at all', password: STRONGER, confirm: STRONGER });
      expect(wrong.status).toBe(400);
      expect(wrong.text).toContain('The current password is not right');
      const weak = await post({ current: STRONG, password: 'linus@acme.test', confirm: 'linus@acme.test' });
      expect(weak.status).toBe(400);
      expect(weak.text).toContain('must not contain your email address or your name');

      const before = smtp.received.length;
      const ok = await post({ current: STRONG, password: STRONGER, confirm: STRONGER });
      expect(ok.status).toBe(303);
      await jar.on(request(t.http).get('/account')).expect(200);
      expect((await other.on(request(t.http).get('/account'))).status).toBe(303);
      expect((await smtp.waitForTo('linus@acme.test', before)).subject).toBe('Your password was changed');
      expect((await audit('user.password_changed')).at(-1).details).toMatchObject({ userId: user.id, sessionsEnded: 1 });
    });

    it('refuses a post without the session-bound token', async () => {
      await makeUser(t.ds, tenant.id, { email: 'nocsrf@acme.test', password: STRONG });
      const jar = new CookieJar();
      await signIn(request(t.http), jar, { tenant: tenant.slug, email: 'nocsrf@acme.test', password: STRONG });
      const res = await jar.on(request(t.http).post('/account/password')).type('form').send({ current: STRONG, password: STRONGER, confirm: STRONGER });
      expect(res.status).toBe(400);
      expect(res.text).toContain('This form expired');
    });
  });
});

describe('"Forgot password?" per IP', () => {
  let t: TestApp;
  beforeAll(async () => {
    // TRUST_PROXY: each request names its client address (X-Forwarded-For).
    t = await createTestApp({ env: { TRUST_PROXY: 'loopback', SMTP_URL: undefined } });
  });
  afterAll(() => t.close());

  it(`counts every request of an IP, whatever the account: over ${RESET_IP_LIMIT} an hour, a 429 for that IP only`, async () => {
    const tenant = await makeTenant(t.ds);
    const from = async (ip: string, email: string) => {
      const jar = new CookieJar();
      const page = jar.store(await jar.on(request(t.http).get('/login/forgot').set('X-Forwarded-For', ip)).expect(200));
      return jar.on(request(t.http).post('/login/forgot').set('X-Forwarded-For', ip)).type('form').send({ _csrf: csrfFieldOf(page.text), tenant: tenant.slug, email });
    };
    for (let i = 0; i < RESET_IP_LIMIT; i++) expect((await from('203.0.113.7', `someone${i}@acme.test`)).status).toBe(200);
    const over = await from('203.0.113.7', 'one-more@acme.test');
    expect(over.status).toBe(429);
    expect(over.headers['retry-after']).toBeDefined();
    expect((await from('203.0.113.8', 'one-more@acme.test')).status).toBe(200);
  });
});
