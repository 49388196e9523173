import { generateSync } from 'otplib';
import request from 'supertest';
import { SecretBox } from '../../src/crypto/secret-box';
import { randomToken, sha256Hex } from '../../src/crypto/tokens';
import { totpSecretContext } from '../../src/mfa/mfa.entity';
import { MfaPruner } from '../../src/mfa/mfa-pruner';
import { grantAccess, makeApiKey, makeTarget, makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { CookieJar, csrfFieldOf, signIn } from '../support/cookie-jar';
import { signAssertion } from '../support/handoff';

const PASSWORD = 'correct horse battery staple';
const MB_SECRET = 'mb-jwt-secret-for-tests-0123456789abcdef';
const THRESHOLD = 4;
const OP_EMAIL = 'op@platform.example';
const OP_PASSWORD = 'operator password 0001';

/**
 * Two-step verification through the real pages: the second step of a password sign-in, the
 * enrolment a `required` tenant asks for, recovery codes, the lockout, the admin reset.
 */
describe('two-step verification', () => {
  let t: TestApp;
  let target: { id: string; slug: string };
  let adminKey: string;

  beforeAll(async () => {
    t = await createTestApp({ env: { LOGIN_LOCKOUT_THRESHOLD: String(THRESHOLD), BOOTSTRAP_OPERATOR_EMAIL: OP_EMAIL, BOOTSTRAP_OPERATOR_PASSWORD: OP_PASSWORD } });
    target = await makeTarget(t, { kind: 'metabase', slug: `mb-${Date.now()}`, baseUrl: 'http://127.0.0.1:9', secret: MB_SECRET });
    adminKey = await makeApiKey(t.ds);
  });
  afterAll(async () => {
    await t.close();
  });

  const count = async (sql: string, params: unknown[] = []) => Number((await t.ds.query(sql, params))[0].n);

  async function tenantWith(policy: 'off' | 'optional' | 'required') {
    const tenant = await makeTenant(t.ds);
    await t.ds.query(`UPDATE tenants SET mfa_policy = $2 WHERE id = $1`, [tenant.id, policy]);
    await grantAccess(t.ds, tenant.id, target.id);
    return tenant;
  }

  /** A confirmed authenticator, stored as enrolment stores it (sealed). */
  async function withTotp(user: { id: string; tenant_id: string }): Promise<string> {
    const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
    const sealed = t.app.get(SecretBox).seal(secret, totpSecretContext(user.id));
    await t.ds.query(`INSERT INTO mfa_totp (user_id, tenant_id, secret_enc, confirmed_at) VALUES ($1, $2, $3, now())`, [user.id, user.tenant_id, sealed]);
    return secret;
  }

  const codeAt = (secret: string, offsetSteps = 0) => generateSync({ secret, epoch: Math.floor(Date.now() / 1000) + offsetSteps * 30 });

  async function password(jar: CookieJar, tenant: { slug: string }, user: { email: string }, next?: string) {
    return signIn(request(t.http), jar, { tenant: tenant.slug, email: user.email, password: PASSWORD, next });
  }

  async function secondStep(jar: CookieJar, code: string) {
    const page = jar.store(await jar.on(request(t.http).get('/login/mfa')));
    expect(page.status).toBe(200);
    return jar.store(await jar.on(request(t.http).post('/login/mfa')).type('form').send({ _csrf: csrfFieldOf(page.text), code }));
  }

  const tokensOf = (userId: string) => count(`SELECT count(*)::int AS n FROM issued_tokens WHERE user_id = $1`, [userId]);

  it('asks for the second step after the password and gives no session and no SSO token until it is done', async () => {
    const tenant = await tenantWith('optional');
    const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
    const secret = await withTotp(user);
    const jar = new CookieJar();
    const next = `/sso/${target.slug}?return_to=%2Fdashboard%2F1`;
    const res = await password(jar, tenant, user, next);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/login/mfa');
    expect(jar.get('eidp_session')).toBeUndefined();
    expect(jar.get('eidp_mfa')).toBeDefined();
    expect(await count(`SELECT count(*)::int AS n FROM sessions WHERE user_id = $1`, [user.id])).toBe(0);

    // Half signed in: the SSO route, the SDK's JSON flow and the embed flow mint nothing.
    const sso = await jar.on(request(t.http).get(next));
    expect(sso.status).toBe(302);
    expect(sso.headers.location).toMatch(/^\/login\?/);
    const json = await jar.on(request(t.http).get(`/sso/${target.slug}?response=json`));
    expect(json.status).toBe(401);
    // Even the pending cookie's value presented as a session cookie is no session.
    const forged = await request(t.http).get(next).set('Cookie', `eidp_session=${jar.get('eidp_mfa')}`);
    expect(forged.status).toBe(302);
    expect(forged.headers.location).toMatch(/^\/login\?/);
    expect(await tokensOf(user.id)).toBe(0);

    const done = await secondStep(jar, codeAt(secret));
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe(next);
    expect(jar.get('eidp_session')).toBeDefined();
    const after = await jar.on(request(t.http).get(next));
    expect(after.status).toBe(302);
    expect(after.headers.location).toMatch(/\/auth\/sso\?jwt=/);
    expect(await tokensOf(user.id)).toBe(1);
    const [ev] = await t.ds.query(`SELECT details FROM audit_events WHERE type = 'login.success' AND tenant_id = $1`, [tenant.id]);
    expect(ev.details.mfa).toBe('totp');
  });

  it('refuses a TOTP code used once already (replay, sequential)', async () => {
    const tenant = await tenantWith('optional');
    const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
    const secret = await withTotp(user);
    const code = codeAt(secret);
    const first = new CookieJar();
    await password(first, tenant, user);
    expect((await secondStep(first, code)).status).toBe(303);

    const second = new CookieJar();
    await password(second, tenant, user);
    const replay = await secondStep(second, code);
    expect(replay.status).toBe(401);
    expect(replay.text).toContain('not right, or was already used');
    expect(second.get('eidp_session')).toBeUndefined();
    // An older step than the one used is refused too.
    const older = await secondStep(second, codeAt(secret, -1));
    expect(older.status).toBe(401);
  });

  it('lets exactly one of concurrent uses of one TOTP code through (replay, concurrent)', async () => {
    const tenant = await tenantWith('optional');
    const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
    const secret = await withTotp(user);
    // One fewer than the lockout threshold: every admitted attempt holds a failure reservation
    // until it settles, so with as many racing attempts as the threshold the losers could lock
    // the account before the winner settles, and a right code does not get past a lockout.
    const jars = Array.from({ length: THRESHOLD - 1 }, () => new CookieJar());
    for (const jar of jars) await password(jar, tenant, user);
    const pages = await Promise.all(jars.map(async (jar) => jar.store(await jar.on(request(t.http).get('/login/mfa')))));
    const code = codeAt(secret);
    const answers = await Promise.all(
      jars.map(async (jar, i) => jar.store(await jar.on(request(t.http).post('/login/mfa')).type('form').send({ _csrf: csrfFieldOf(pages[i].text), code }))),
    );
    // One through; the others refused as a wrong code.
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([303, ...Array(THRESHOLD - 2).fill(401)]);
    expect(await count(`SELECT count(*)::int AS n FROM sessions WHERE user_id = $1`, [user.id])).toBe(1);
  });

  it('counts a wrong code toward the lockout: at the threshold even the right code is refused', async () => {
    const tenant = await tenantWith('optional');
    const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
    const secret = await withTotp(user);
    const jar = new CookieJar();
    await password(jar, tenant, user);
    const statuses: number[] = [];
    // A fresh password between guesses does not wipe the count of wrong codes.
    for (let i = 0; i < THRESHOLD; i++) {
      if (i === 2) await password(jar, tenant, user);
      statuses.push((await secondStep(jar, '000000')).status);
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
    expect(await count(`SELECT count(*)::int AS n FROM audit_events WHERE type = 'login.lockout' AND tenant_id = $1`, [tenant.id])).toBe(1);
    const right = await jar.on(request(t.http).post('/login/mfa')).type('form').send({ _csrf: csrfFieldOf((await jar.on(request(t.http).get('/login/mfa'))).text), code: codeAt(secret) });
    expect(right.status).toBe(429);
    expect(jar.get('eidp_session')).toBeUndefined();
    // The password step is locked as well.
    expect((await password(new CookieJar(), tenant, user)).status).toBe(401);
    expect(await count(`SELECT count(*)::int AS n FROM audit_events WHERE type = 'login.failure' AND details->>'reason' = 'bad_second_factor' AND tenant_id = $1`, [tenant.id])).toBe(THRESHOLD);
  });

  it('a required policy: the first sign-in sets a factor up before any token, then shows 10 recovery codes once; each works once', async () => {
    const tenant = await tenantWith('required');
    const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
    const jar = new CookieJar();
    const next = `/sso/${target.slug}`;
    const res = await password(jar, tenant, user, next);
    expect(res.headers.location).toBe('/login/mfa/setup');
    expect((await jar.on(request(t.http).get(next))).headers.location).toMatch(/^\/login\?/);
    expect(await tokensOf(user.id)).toBe(0);

    const setup = jar.store(await jar.on(request(t.http).get('/login/mfa/setup')).expect(200));
    expect(setup.text).toContain('Your organization asks for a second step');
    const started = jar.store(await jar.on(request(t.http).post('/login/mfa/setup/totp')).type('form').send({ _csrf: csrfFieldOf(setup.text) }).expect(200));
    const secret = /<code>([A-Z2-7 ]+)<\/code>/.exec(started.text)![1].replace(/ /g, '');
    const qr = await jar.on(request(t.http).get('/login/mfa/setup/totp/qr.svg')).expect(200);
    expect(qr.headers['content-type']).toMatch(/^image\/svg\+xml/);
    // The secret is sealed at rest.
    const [stored] = await t.ds.query(`SELECT secret_enc FROM mfa_totp WHERE user_id = $1`, [user.id]);
    expect(stored.secret_enc).not.toContain(secret);

    const wrong = await jar.on(request(t.http).post('/login/mfa/setup/totp/confirm')).type('form').send({ _csrf: csrfFieldOf(started.text), code: '000000' });
    expect(wrong.status).toBe(400);
    const confirmed = jar.store(await jar.on(request(t.http).post('/login/mfa/setup/totp/confirm')).type('form').send({ _csrf: csrfFieldOf(started.text), code: codeAt(secret) }));
    expect(confirmed.status).toBe(200);
    const codes = [...confirmed.text.matchAll(/<li><code>([A-Z0-9-]{19})<\/code><\/li>/g)].map((m) => m[1]);
    expect(codes).toHaveLength(10);
    expect(confirmed.text).toContain(`href="${next}"`);
    expect(jar.get('eidp_session')).toBeDefined();
    expect((await jar.on(request(t.http).get(next))).headers.location).toMatch(/\/auth\/sso\?jwt=/);
    const hashes = await t.ds.query(`SELECT code_hash FROM mfa_recovery_codes WHERE user_id = $1`, [user.id]);
    expect(hashes).toHaveLength(10);
    expect(JSON.stringify(hashes)).not.toContain(codes[0].replace(/-/g, ''));

    // A recovery code signs in once, typed loosely.
    const a = new CookieJar();
    await password(a, tenant, user);
    expect((await secondStep(a, ` ${codes[3].toLowerCase()} `)).status).toBe(303);
    const b = new CookieJar();
    await password(b, tenant, user);
    expect((await secondStep(b, codes[3])).status).toBe(401);
    expect(await count(`SELECT count(*)::int AS n FROM audit_events WHERE type = 'mfa.recovery_code.used' AND tenant_id = $1`, [tenant.id])).toBe(1);
  });

  it('an optional policy lets a user without a factor in, and off asks nothing', async () => {
    for (const policy of ['optional', 'off'] as const) {
      const tenant = await tenantWith(policy);
      const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
      if (policy === 'off') await withTotp(user);
      const jar = new CookieJar();
      const res = await password(jar, tenant, user);
      expect(res.headers.location).toBe('/account');
      expect(jar.get('eidp_session')).toBeDefined();
      const account = await jar.on(request(t.http).get('/account')).expect(200);
      if (policy === 'optional') expect(account.text).toContain('Two-step verification: off. <a href="/login/mfa/setup">Set it up</a>');
      else expect(account.text).not.toContain('Two-step verification');
    }
  });

  it('an administrator sets the policy and resets a user’s factors (audited)', async () => {
    const tenant = await tenantWith('off');
    const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
    await withTotp(user);
    const api = (r: request.Test) => r.set('Authorization', `Bearer ${adminKey}`);
    const bad = await api(request(t.http).patch(`/api/v1/tenants/${tenant.id}`)).send({ mfaPolicy: 'sometimes' });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('Two-step verification must be one of off, optional, required');
    const ok = await api(request(t.http).patch(`/api/v1/tenants/${tenant.id}`)).send({ mfaPolicy: 'required' }).expect(200);
    expect(ok.body.mfaPolicy).toBe('required');
    const state = await api(request(t.http).get(`/api/v1/tenants/${tenant.slug}/users/${user.id}/mfa`)).expect(200);
    expect(state.body).toMatchObject({ policy: 'required', totp: true, passkeys: [], recoveryCodesLeft: 0 });
    expect(JSON.stringify(state.body)).not.toMatch(/secret/i);

    const reset = await api(request(t.http).delete(`/api/v1/tenants/${tenant.id}/users/${user.id}/mfa`)).expect(200);
    expect(reset.body.removed).toEqual({ totp: 1, passkeys: 0, recoveryCodes: 0 });
    const [ev] = await t.ds.query(`SELECT actor, details FROM audit_events WHERE type = 'mfa.reset' AND tenant_id = $1`, [tenant.id]);
    expect(ev.actor).toMatch(/^apikey:/);
    expect(ev.details.userId).toBe(user.id);
    // Required and nothing left: the next sign-in sets one up.
    const jar = new CookieJar();
    expect((await password(jar, tenant, user)).headers.location).toBe('/login/mfa/setup');
  });

  it('a host-app hand-off skips our second step under a required policy (the host app signed the person in)', async () => {
    const tenant = await tenantWith('required');
    const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
    await withTotp(user);
    const secret = 'host-app-handoff-secret-0123456789abcdef';
    await request(t.http).post(`/api/v1/tenants/${tenant.id}/handoff/secrets`).set('Authorization', `Bearer ${adminKey}`).send({ secret }).expect(201);
    const res = await request(t.http).get(`/sso/${target.slug}?assertion=${signAssertion(secret, tenant.slug, { email: user.email })}`);
    expect(res.status).toBe(302);
    expect(res.headers.location).toMatch(/\/auth\/sso\?jwt=/);
    expect(String(res.headers['set-cookie'])).toContain('eidp_session=');
    expect(await tokensOf(user.id)).toBe(1);
    // The password form of the same tenant still asks for the second step.
    expect((await password(new CookieJar(), tenant, user)).headers.location).toBe('/login/mfa');
  });

  it('the way on after setting a factor up stays on this service: another site\'s address is never linked to', async () => {
    const tenant = await tenantWith('optional');
    const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
    const jar = new CookieJar();
    expect((await password(jar, tenant, user)).headers.location).toBe('/account');
    for (const evil of ['https://evil.example/', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)']) {
      const page = jar.store(await jar.on(request(t.http).get(`/login/mfa/setup?done=passkey&continue=${encodeURIComponent(evil)}`)).expect(200));
      expect(page.text).not.toContain('evil.example');
      expect(page.text).not.toContain('javascript:');
      const codes = await jar.on(request(t.http).post('/login/mfa/setup/recovery-codes')).type('form').send({ _csrf: csrfFieldOf(page.text), continue: evil });
      expect(codes.status).toBe(200);
      expect(codes.text).not.toContain('evil.example');
      expect(codes.text).toContain('href="/login/mfa/setup"');
    }
    const ok = jar.store(await jar.on(request(t.http).get(`/login/mfa/setup?done=passkey&continue=${encodeURIComponent('/sso/mb?return_to=%2Fd%2F1')}`)).expect(200));
    expect(ok.text).toContain('href="/sso/mb?return_to=%2Fd%2F1">Continue</a>');
  });

  it('an invitation accepted in a tenant that requires a second step sets one up before any session or token', async () => {
    const tenant = await tenantWith('required');
    const user = await makeUser(t.ds, tenant.id);
    const token = randomToken(32);
    await t.ds.query(
      `INSERT INTO account_links (tenant_id, user_id, purpose, token_hash, expires_at, created_by) VALUES ($1, $2, 'invitation', $3, now() + interval '1 hour', 'test')`,
      [tenant.id, user.id, sha256Hex(token)],
    );
    const jar = new CookieJar();
    const page = jar.store(await jar.on(request(t.http).get(`/account/invitation?token=${token}`)).expect(200));
    const set = jar.store(await jar.on(request(t.http).post('/account/invitation')).type('form').send({ _csrf: csrfFieldOf(page.text), token, password: PASSWORD, confirm: PASSWORD }));
    expect(set.status).toBe(303);
    expect(set.headers.location).toBe('/login/mfa/setup');
    expect(jar.get('eidp_session')).toBeUndefined();
    expect(jar.get('eidp_mfa')).toBeDefined();
    expect(await count(`SELECT count(*)::int AS n FROM sessions WHERE user_id = $1`, [user.id])).toBe(0);
    expect((await jar.on(request(t.http).get(`/sso/${target.slug}`))).headers.location).toMatch(/^\/login\?/);
    expect(await tokensOf(user.id)).toBe(0);
    // The password is set and the link spent; the setup page goes on from here.
    expect((await jar.on(request(t.http).get('/login/mfa/setup')).expect(200)).text).toContain('Your organization asks for a second step');
    expect((await t.ds.query(`SELECT used_at FROM account_links WHERE token_hash = $1`, [sha256Hex(token)]))[0].used_at).not.toBeNull();
    const [step] = await t.ds.query(`SELECT details FROM audit_events WHERE type = 'login.second_step' AND tenant_id = $1`, [tenant.id]);
    expect(step.details).toMatchObject({ userId: user.id, step: 'enrol', via: 'invitation' });
  });

  it('refuses a second-step form without the CSRF token or from another site, and keeps nothing', async () => {
    const tenant = await tenantWith('optional');
    const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
    const secret = await withTotp(user);
    const jar = new CookieJar();
    await password(jar, tenant, user);
    const noToken = await jar.on(request(t.http).post('/login/mfa')).type('form').send({ code: codeAt(secret) });
    expect(noToken.status).toBe(400);
    const page = jar.store(await jar.on(request(t.http).get('/login/mfa')));
    const cross = await jar.on(request(t.http).post('/login/mfa')).set('Origin', 'https://evil.example').type('form').send({ _csrf: csrfFieldOf(page.text), code: codeAt(secret) });
    expect(cross.status).toBe(403);
    expect(await count(`SELECT count(*)::int AS n FROM sessions WHERE user_id = $1`, [user.id])).toBe(0);
  });

  it('prunes expired pending sign-ins and WebAuthn challenges, and only those', async () => {
    const tenant = await tenantWith('optional');
    const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
    for (const [id, secs] of [['a'.repeat(64), -1], ['b'.repeat(64), 600]] as const) {
      await t.ds.query(
        `INSERT INTO mfa_pending_logins (id, user_id, tenant_id, account_key, purpose, expires_at) VALUES ($1, $2, $3, 'k', 'verify', now() + make_interval(secs => $4))`,
        [id, user.id, tenant.id, secs],
      );
      await t.ds.query(`INSERT INTO mfa_webauthn_challenges (challenge, user_id, purpose, expires_at) VALUES ($1, $2, 'register', now() + make_interval(secs => $3))`, [id, user.id, secs]);
    }
    expect(await t.app.get(MfaPruner).prune()).toBeGreaterThanOrEqual(2);
    expect(await t.ds.query(`SELECT id FROM mfa_pending_logins WHERE user_id = $1`, [user.id])).toEqual([{ id: 'b'.repeat(64) }]);
    expect(await t.ds.query(`SELECT challenge FROM mfa_webauthn_challenges WHERE user_id = $1`, [user.id])).toEqual([{ challenge: 'b'.repeat(64) }]);
  });

  it('the console sets the policy in the tenant form and resets a user’s factors (audited with the operator)', async () => {
    const tenant = await tenantWith('off');
    const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
    await withTotp(user);
    const op = new CookieJar();
    expect((await signIn(request(t.http), op, { tenant: 'operators', email: OP_EMAIL, password: OP_PASSWORD })).status).toBe(303);
    const page = op.store(await op.on(request(t.http).get(`/console/tenants/${tenant.id}`)).expect(200));
    expect(page.text).toContain('Two-step verification at password sign-in');
    const saved = await op.on(request(t.http).post(`/console/tenants/${tenant.id}`)).type('form').send({ _csrf: csrfFieldOf(page.text), name: 'Renamed', mfaPolicy: 'required' });
    expect(saved.status).toBe(303);
    expect((await t.ds.query(`SELECT mfa_policy FROM tenants WHERE id = $1`, [tenant.id]))[0].mfa_policy).toBe('required');
    const refused = await op.on(request(t.http).post(`/console/tenants/${tenant.id}`)).type('form').send({ _csrf: csrfFieldOf(page.text), name: 'Renamed', mfaPolicy: 'always' });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('Two-step verification must be one of off, optional, required');

    const userPage = op.store(await op.on(request(t.http).get(`/console/tenants/${tenant.id}/users/${user.id}`)).expect(200));
    expect(userPage.text).toContain('Authenticator app: set up');
    const reset = await op.on(request(t.http).post(`/console/tenants/${tenant.id}/users/${user.id}/mfa/reset`)).type('form').send({ _csrf: csrfFieldOf(userPage.text) });
    expect(reset.status).toBe(303);
    expect(await count(`SELECT count(*)::int AS n FROM mfa_totp WHERE user_id = $1`, [user.id])).toBe(0);
    const [ev] = await t.ds.query(`SELECT actor FROM audit_events WHERE type = 'mfa.reset' AND tenant_id = $1`, [tenant.id]);
    expect(ev.actor).toMatch(/^user:/);
  });
});
