import request from 'supertest';
import { logTap } from '../../src/common/logging';
import { makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { CookieJar, csrfFieldOf, signIn } from '../support/cookie-jar';

const PASSWORD = 'correct horse battery staple';

describe('login page and form', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  const countRows = async (table: string, where = 'true', params: unknown[] = []) =>
    Number((await t.ds.query(`SELECT count(*)::int AS n FROM ${table} WHERE ${where}`, params))[0].n);

  async function formPage(jar: CookieJar, query = '') {
    const res = jar.store(await jar.on(request(t.http).get(`/login${query}`)).expect(200));
    return { res, csrf: csrfFieldOf(res.text) };
  }

  function post(jar: CookieJar, form: Record<string, string | string[]>) {
    return jar.on(request(t.http).post('/login')).type('form').send(form);
  }

  describe('GET /login', () => {
    it('renders an accessible form with a CSRF token, no-store and a CSP, and no X-Frame-Options', async () => {
      const jar = new CookieJar();
      const { res, csrf } = await formPage(jar);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['content-security-policy']).toMatch(/default-src 'none'/);
      expect(res.headers['x-frame-options']).toBeUndefined();
      for (const f of ['tenant', 'email', 'password']) {
        expect(res.text).toContain(`<label for="${f}">`);
        expect(res.text).toContain(`id="${f}" name="${f}"`);
      }
      expect(res.text).toContain('<form method="post" action="/login"');
      expect(res.text).not.toMatch(/<script/i);
      expect(csrf.length).toBeGreaterThan(20);
      const cookie = jar.cookie('eidp_csrf');
      expect(cookie?.attributes.httponly).toBe(true);
      expect(cookie?.attributes.samesite).toBe('Lax');
      expect(cookie?.attributes.secure).toBeUndefined();
    });

    it('keeps the CSRF cookie across page loads (two tabs both work)', async () => {
      const jar = new CookieJar();
      const first = await formPage(jar);
      const second = await formPage(jar);
      expect(second.res.headers['set-cookie']).toBeUndefined();
      expect(second.csrf).toBe(first.csrf);
    });

    it('only pre-fills a known organization: its name is not shown to an anonymous visitor', async () => {
      const tenant = await makeTenant(t.ds, { name: 'Acme <b>&</b> "Co"' });
      const { res } = await formPage(new CookieJar(), `?tenant=${tenant.slug}`);
      expect(res.text).not.toContain('Acme');
      expect(res.text).toContain('<label for="tenant">');
      expect(res.text).toMatch(new RegExp(`id="tenant" name="tenant"[^>]*value="${tenant.slug}"`));
    });

    it('only pre-fills an unknown organization', async () => {
      const { res } = await formPage(new CookieJar(), '?tenant=no-such-org');
      expect(res.text).toContain('<label for="tenant">');
      expect(res.text).toMatch(/id="tenant" name="tenant"[^>]*value="no-such-org"/);
    });

    it('carries a continuation on this service, url-encoded query string and all', async () => {
      const next = '/sso/mb?return_to=%2Fdashboard%2F1';
      const { res } = await formPage(new CookieJar(), `?next=${encodeURIComponent(next)}`);
      expect(res.text).toContain('<input type="hidden" name="next" value="/sso/mb?return_to=%2Fdashboard%2F1">');
    });

    it.each(['https://evil.example/x', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)'])(
      'ignores the continuation %j',
      async (next) => {
        const { res } = await formPage(new CookieJar(), `?next=${encodeURIComponent(next)}`);
        expect(res.text).not.toContain('name="next"');
        expect(res.text).not.toContain('evil.example');
      },
    );
  });

  describe('POST /login', () => {
    it('signs in, sets an HttpOnly Lax session cookie, audits, and redirects to the continuation', async () => {
      const tenant = await makeTenant(t.ds, { name: 'Globex' });
      const user = await makeUser(t.ds, tenant.id, { email: 'Hank@Globex.example', password: PASSWORD, firstName: 'Hank', lastName: 'Scorpio' });
      const jar = new CookieJar();
      const next = '/sso/mb?return_to=%2Fdashboard%2F1';
      const res = await signIn(request(t.http), jar, { tenant: tenant.slug, email: ' HANK@globex.example ', password: PASSWORD, next });
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe(next);
      const cookie = jar.cookie('eidp_session');
      expect(cookie).toBeDefined();
      expect(cookie!.attributes.httponly).toBe(true);
      expect(cookie!.attributes.samesite).toBe('Lax');
      expect(cookie!.attributes.secure).toBeUndefined();
      expect(cookie!.attributes.path).toBe('/');

      const sessions = await t.ds.query(`SELECT id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL`, [user.id]);
      expect(sessions).toHaveLength(1);
      // The cookie is not what is stored: only its SHA-256.
      expect(sessions[0].id).not.toBe(cookie!.value);
      const [event] = await t.ds.query(`SELECT * FROM audit_events WHERE type = 'login.success' AND tenant_id = $1`, [tenant.id]);
      expect(event.actor).toBe(`user:${user.id}`);
      expect(event.details).toMatchObject({ userId: user.id, email: 'hank@globex.example' });

      const account = await jar.on(request(t.http).get('/account')).expect(200);
      expect(account.text).toContain('Hank Scorpio');
      expect(account.text).toContain('Globex');
    });

    it('goes to /account without a continuation, and ignores one that points off the service', async () => {
      const tenant = await makeTenant(t.ds);
      const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
      const plain = await signIn(request(t.http), new CookieJar(), { tenant: tenant.slug, email: user.email, password: PASSWORD });
      expect(plain.status).toBe(303);
      expect(plain.headers.location).toBe('/account');
      for (const next of ['https://evil.example/', '//evil.example', '/\\evil.example', '/.//evil.example']) {
        const res = await signIn(request(t.http), new CookieJar(), { tenant: tenant.slug, email: user.email, password: PASSWORD, next });
        expect(res.status).toBe(303);
        expect(res.headers.location).toBe('/account');
      }
    });

    it('issues a new session id at login and revokes the one the browser arrived with', async () => {
      const tenant = await makeTenant(t.ds);
      const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
      const jar = new CookieJar();
      await signIn(request(t.http), jar, { tenant: tenant.slug, email: user.email, password: PASSWORD });
      const first = jar.get('eidp_session')!;
      await signIn(request(t.http), jar, { tenant: tenant.slug, email: user.email, password: PASSWORD });
      const second = jar.get('eidp_session')!;
      expect(second).not.toBe(first);

      const old = new CookieJar();
      old.set('eidp_session', first);
      const res = await old.on(request(t.http).get('/account')).expect(303);
      expect(res.headers.location).toBe('/login?next=%2Faccount');
      await jar.on(request(t.http).get('/account')).expect(200);
      expect(await countRows('sessions', 'user_id = $1 AND revoked_at IS NULL', [user.id])).toBe(1);
    });

    it('re-renders the organization as typed after a failure (its name not shown), without the password', async () => {
      const tenant = await makeTenant(t.ds, { name: 'Initech' });
      const jar = new CookieJar();
      const { csrf } = await formPage(jar, `?tenant=${tenant.slug}`);
      const res = await post(jar, { _csrf: csrf, tenant: tenant.slug, email: 'peter@initech.example', password: 'hunter2-hunter2' }).expect(401);
      expect(res.text).not.toContain('Initech');
      expect(res.text).toMatch(new RegExp(`id="tenant" name="tenant"[^>]*value="${tenant.slug}"`));
      expect(res.text).toContain('value="peter@initech.example"');
      expect(res.text).not.toContain('hunter2');
      expect(res.text).toContain('role="alert"');
    });
  });

  describe('every credential failure looks the same', () => {
    it('same status and page for unknown tenant, unknown email, wrong password, disabled user, disabled tenant, locked account', async () => {
      const tenant = await makeTenant(t.ds);
      const email = 'same@example.com';
      const user = await makeUser(t.ds, tenant.id, { email, password: PASSWORD });
      const disabledUserTenant = await makeTenant(t.ds);
      await makeUser(t.ds, disabledUserTenant.id, { email, password: PASSWORD, disabled: true });
      const disabledTenant = await makeTenant(t.ds, { disabled: true });
      await makeUser(t.ds, disabledTenant.id, { email, password: PASSWORD });
      const lockedTenant = await makeTenant(t.ds);
      const locked = await makeUser(t.ds, lockedTenant.id, { email, password: PASSWORD });
      await t.ds.query(
        `INSERT INTO login_throttles (key, failures, window_started_at, locked_until) VALUES ($1, 10, now(), now() + interval '10 minutes')`,
        [`acct:${lockedTenant.id}:${email}`],
      );
      const otherTenant = await makeTenant(t.ds);

      const jar = new CookieJar();
      const { csrf } = await formPage(jar);
      const attempt = async (tenantSlug: string, password: string) => {
        const res = await post(jar, { _csrf: csrf, tenant: tenantSlug, email, password });
        // The only thing that differs between the cases is what the visitor typed.
        return { status: res.status, body: res.text.split(tenantSlug).join('<slug>') };
      };
      const cases = {
        unknown_tenant: await attempt('no-such-tenant', PASSWORD),
        unknown_user: await attempt(otherTenant.slug, PASSWORD),
        bad_password: await attempt(tenant.slug, 'wrong password!'),
        disabled_user: await attempt(disabledUserTenant.slug, PASSWORD),
        disabled_tenant: await attempt(disabledTenant.slug, PASSWORD),
        locked: await attempt(lockedTenant.slug, PASSWORD),
      };
      const reference = cases.bad_password;
      expect(reference.status).toBe(401);
      expect(reference.body).toContain('The organization, email or password is not right.');
      for (const [, c] of Object.entries(cases)) expect(c).toEqual(reference);
      for (const word of ['locked', 'disabled', 'unknown', 'not found', 'exist']) expect(reference.body.toLowerCase()).not.toContain(word);

      const reasons = await t.ds.query(`SELECT details->>'reason' AS reason, details->>'tenant' AS tenant FROM audit_events WHERE type = 'login.failure' ORDER BY id`);
      expect(reasons.slice(-6)).toEqual([
        { reason: 'unknown_tenant', tenant: 'no-such-tenant' },
        { reason: 'unknown_user', tenant: otherTenant.slug },
        { reason: 'bad_password', tenant: tenant.slug },
        { reason: 'disabled', tenant: disabledUserTenant.slug },
        { reason: 'disabled', tenant: disabledTenant.slug },
        { reason: 'locked', tenant: lockedTenant.slug },
      ]);
      // The correct password of a locked account did not start a session either.
      expect(await countRows('sessions', 'user_id = ANY($1)', [[user.id, locked.id]])).toBe(0);
    });
  });

  describe('bad input: the form again with a 400, nothing stored', () => {
    let tenant: { id: string; slug: string };
    let email: string;
    beforeAll(async () => {
      tenant = await makeTenant(t.ds);
      email = (await makeUser(t.ds, tenant.id, { password: PASSWORD })).email;
    });

    async function expectNothingStored(run: () => Promise<unknown>) {
      const before = await Promise.all(['sessions', 'login_throttles', 'audit_events'].map((x) => countRows(x)));
      await run();
      const after = await Promise.all(['sessions', 'login_throttles', 'audit_events'].map((x) => countRows(x)));
      expect(after).toEqual(before);
    }

    it('a wrong CSRF token is refused before the password is looked at, even a correct one', async () => {
      await expectNothingStored(async () => {
        const jar = new CookieJar();
        await formPage(jar);
        const res = await post(jar, { _csrf: 'x'.repeat(43), tenant: tenant.slug, email, password: PASSWORD }).expect(400);
        expect(res.text).toContain('This sign-in form has expired');
        expect(res.headers['set-cookie'] ?? []).not.toEqual(expect.arrayContaining([expect.stringMatching(/^eidp_session=/)]));
      });
    });

    it('a token without its cookie (a cross-site post) is refused', async () => {
      await expectNothingStored(async () => {
        const { csrf } = await formPage(new CookieJar());
        await post(new CookieJar(), { _csrf: csrf, tenant: tenant.slug, email, password: PASSWORD }).expect(400);
      });
    });

    it("another browser's token is refused", async () => {
      await expectNothingStored(async () => {
        const { csrf: theirs } = await formPage(new CookieJar());
        const mine = new CookieJar();
        await formPage(mine);
        await post(mine, { _csrf: theirs, tenant: tenant.slug, email, password: PASSWORD }).expect(400);
      });
    });

    it('missing fields are named inline', async () => {
      await expectNothingStored(async () => {
        const jar = new CookieJar();
        const { csrf } = await formPage(jar);
        const res = await post(jar, { _csrf: csrf, tenant: '', email: '' }).expect(400);
        expect(res.text).toContain('id="tenant-error"');
        expect(res.text).toContain('Enter your organization.');
        expect(res.text).toContain('Enter your email.');
        expect(res.text).toContain('Enter your password.');
        expect(res.text).toMatch(/id="email" name="email"[^>]*aria-invalid="true"/);
      });
    });

    it.each([
      ['password', { password: 'p'.repeat(1025) }, 'Password is too long'],
      ['email', { email: `${'e'.repeat(250)}@example.com` }, 'Email is too long'],
      ['tenant', { tenant: 't'.repeat(64) }, 'Organization is too long'],
      ['email shape', { email: 'not-an-email' }, 'Enter an email address'],
      ['repeated email', { email: ['a@example.com', 'b@example.com'] }, 'Email must be given once'],
    ])('an oversized or malformed %s', async (_what, override, message) => {
      await expectNothingStored(async () => {
        const jar = new CookieJar();
        const { csrf } = await formPage(jar);
        const res = await post(jar, { _csrf: csrf, tenant: tenant.slug, email, password: PASSWORD, ...override }).expect(400);
        expect(res.text).toContain(message);
        expect(res.text).not.toContain(PASSWORD);
      });
    });

    it('an oversized body (a 30,000-character password): the form again with a 400, nothing stored', async () => {
      const jar = new CookieJar();
      const { csrf } = await formPage(jar);
      const sessions = Number((await t.ds.query(`SELECT count(*) AS n FROM sessions`))[0].n);
      const res = await post(jar, { _csrf: csrf, tenant: tenant.slug, email, password: 'p'.repeat(30_000) });
      expect(res.status).toBe(400);
      expect(res.text).toContain('too large');
      expect(res.text).toContain('name="password"');
      expect(Number((await t.ds.query(`SELECT count(*) AS n FROM sessions`))[0].n)).toBe(sessions);
    });
  });
});

describe('login logging', () => {
  let t: TestApp;
  beforeAll(async () => {
    // Everything logged, so the check below sees every line a login can produce.
    t = await createTestApp({ env: { LOG_LEVEL: 'trace' } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('keeps passwords out of the logs, and logs why a login failed', async () => {
    const lines: string[] = [];
    const listen = (l: string) => lines.push(l);
    logTap.on('line', listen);
    try {
      const tenant = await makeTenant(t.ds);
      const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
      await signIn(request(t.http), new CookieJar(), { tenant: tenant.slug, email: user.email, password: 'wrong-secret-in-logs?' });
      await signIn(request(t.http), new CookieJar(), { tenant: tenant.slug, email: user.email, password: PASSWORD });
    } finally {
      logTap.off('line', listen);
    }
    const all = lines.join('\n');
    expect(all).toContain('"reason":"bad_password"');
    expect(all).not.toContain('wrong-secret-in-logs');
    expect(all).not.toContain(PASSWORD);
  });
});

describe('login behind a base path (PUBLIC_URL https://host/idp, the proxy strips /idp)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { PUBLIC_URL: 'https://idp.example.test/idp' } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('prefixes its links and redirects, and keeps continuations under the base path', async () => {
    const tenant = await makeTenant(t.ds);
    const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
    const page = await request(t.http).get(`/login?tenant=${tenant.slug}&next=${encodeURIComponent('/idp/sso/mb?return_to=%2F')}`).expect(200);
    expect(page.text).toContain('<form method="post" action="/idp/login"');
    expect(page.text).toContain('name="next" value="/idp/sso/mb?return_to=%2F"');

    const ok = await signIn(request(t.http), new CookieJar(), { tenant: tenant.slug, email: user.email, password: PASSWORD, next: '/idp/sso/mb?return_to=%2F' });
    expect(ok.headers.location).toBe('/idp/sso/mb?return_to=%2F');
    const outside = await signIn(request(t.http), new CookieJar(), { tenant: tenant.slug, email: user.email, password: PASSWORD, next: '/elsewhere' });
    expect(outside.headers.location).toBe('/idp/account');
    const anonymous = await request(t.http).get('/account').expect(303);
    expect(anonymous.headers.location).toBe('/idp/login?next=%2Fidp%2Faccount');
  });
});
