import request from 'supertest';
import { makeApiKey, makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { randomToken, sha256Hex } from '../../src/crypto/tokens';
import { CookieJar, csrfFieldOf, signIn } from '../support/cookie-jar';

const PASSWORD = 'correct horse battery staple';

/**
 * A tenant with its own identity provider may turn passwords off: the password form then
 * refuses its people (a right password too) and points them to company sign-in; the
 * operators are never locked out this way; with the setting on nothing changes.
 */
describe('password sign-in off for a tenant with a company identity provider', () => {
  let t: TestApp;
  let globalKey: string;
  beforeAll(async () => {
    t = await createTestApp();
    globalKey = await makeApiKey(t.ds);
  });
  afterAll(async () => {
    await t.close();
  });

  const api = {
    put: (path: string) => request(t.http).put(path).set('Authorization', `Bearer ${globalKey}`),
    patch: (path: string) => request(t.http).patch(path).set('Authorization', `Bearer ${globalKey}`),
    get: (path: string) => request(t.http).get(path).set('Authorization', `Bearer ${globalKey}`),
  };

  async function withProvider(tenantId: string) {
    await api
      .put(`/api/v1/tenants/${tenantId}/oidc-provider`)
      .send({ issuer: 'http://127.0.0.1:9/idp', clientId: 'embed-idp', clientSecret: 'a client secret' })
      .expect(200);
  }

  const failures = async (tenantId: string) =>
    (await t.ds.query(`SELECT details FROM audit_events WHERE type = 'login.failure' AND tenant_id = $1 ORDER BY id`, [tenantId])).map(
      (r: { details: Record<string, unknown> }) => r.details,
    );
  const sessions = async (userId: string) => Number((await t.ds.query(`SELECT count(*)::int AS n FROM sessions WHERE user_id = $1`, [userId]))[0].n);

  it('is on by default, settable through the admin API, and a non-boolean is a 400 in words', async () => {
    const tenant = await makeTenant(t.ds);
    expect((await api.get(`/api/v1/tenants/${tenant.id}`).expect(200)).body.passwordSignIn).toBe(true);
    const bad = await api.patch(`/api/v1/tenants/${tenant.id}`).send({ passwordSignIn: 'no' }).expect(400);
    expect(JSON.stringify(bad.body)).toContain('Password sign-in must be true or false');
    expect((await api.patch(`/api/v1/tenants/${tenant.id}`).send({ passwordSignIn: false }).expect(200)).body.passwordSignIn).toBe(false);
  });

  it('off, with a provider: a right password is refused with a pointer to company sign-in, audited as its own reason, no session', async () => {
    const tenant = await makeTenant(t.ds);
    const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
    await withProvider(tenant.id);
    await api.patch(`/api/v1/tenants/${tenant.id}`).send({ passwordSignIn: false }).expect(200);

    const res = await signIn(request(t.http), new CookieJar(), { tenant: tenant.slug, email: user.email, password: PASSWORD });
    expect(res.status).toBe(403);
    expect(res.text).toContain('Your organization signs you in with your company account, not a password.');
    expect(res.text).toContain('href="/login/company"');
    expect(await sessions(user.id)).toBe(0);
    expect(await failures(tenant.id)).toEqual([expect.objectContaining({ reason: 'password_sign_in_off', email: user.email, userId: user.id })]);

    // The same answer for an email the tenant does not have: the rule is the tenant's, not the account's.
    const unknown = await signIn(request(t.http), new CookieJar(), { tenant: tenant.slug, email: 'nobody@example.com', password: PASSWORD });
    expect(unknown.status).toBe(403);
    expect(unknown.text).toContain('Your organization signs you in with your company account, not a password.');
  });

  it('the sign-in link of such an organization starts at the email step; with passwords on, the usual page', async () => {
    const off = await makeTenant(t.ds);
    await withProvider(off.id);
    await api.patch(`/api/v1/tenants/${off.id}`).send({ passwordSignIn: false }).expect(200);
    const res = await request(t.http).get(`/login?tenant=${off.slug}&next=${encodeURIComponent('/sso/mb?return_to=%2Fd%2F1')}`).expect(303);
    expect(res.headers.location).toBe(`/login/company?next=${encodeURIComponent('/sso/mb?return_to=%2Fd%2F1')}`);
    expect((await request(t.http).get(`/login?tenant=${off.slug}&next=https://evil.example/`).expect(303)).headers.location).toBe('/login/company');

    const on = await makeTenant(t.ds);
    await withProvider(on.id);
    const page = await request(t.http).get(`/login?tenant=${on.slug}`).expect(200);
    expect(page.text).toContain('id="password" name="password"');
  });

  it('off, without a provider: passwords still work (a tenant cannot lock itself out)', async () => {
    const tenant = await makeTenant(t.ds);
    const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
    await api.patch(`/api/v1/tenants/${tenant.id}`).send({ passwordSignIn: false }).expect(200);
    const res = await signIn(request(t.http), new CookieJar(), { tenant: tenant.slug, email: user.email, password: PASSWORD });
    expect(res.status).toBe(303);
    expect(await sessions(user.id)).toBe(1);
  });

  it('on, with a provider: nothing changes (a right password signs in, a wrong one gets the generic answer)', async () => {
    const tenant = await makeTenant(t.ds);
    const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
    await withProvider(tenant.id);
    const wrong = await signIn(request(t.http), new CookieJar(), { tenant: tenant.slug, email: user.email, password: 'not the password' });
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain('The organization, email or password is not right.');
    const res = await signIn(request(t.http), new CookieJar(), { tenant: tenant.slug, email: user.email, password: PASSWORD });
    expect(res.status).toBe(303);
    expect(await sessions(user.id)).toBe(1);
    expect((await failures(tenant.id)).map((d: Record<string, unknown>) => d.reason)).toEqual(['bad_password']);
  });

  it('the operators are never locked out this way', async () => {
    let [op] = await t.ds.query(`SELECT id, slug FROM tenants WHERE operator`);
    if (!op) [op] = await t.ds.query(`INSERT INTO tenants (slug, name, operator) VALUES ('operators', 'Operators', true) RETURNING id, slug`);
    const user = await makeUser(t.ds, op.id, { password: PASSWORD });
    await withProvider(op.id);
    await t.ds.query(`UPDATE tenants SET password_sign_in = false WHERE id = $1`, [op.id]);
    try {
      const res = await signIn(request(t.http), new CookieJar(), { tenant: op.slug, email: user.email, password: PASSWORD });
      expect(res.status).toBe(303);
      expect(await sessions(user.id)).toBe(1);
    } finally {
      await t.ds.query(`UPDATE tenants SET password_sign_in = true WHERE id = $1`, [op.id]);
      await t.ds.query(`DELETE FROM upstream_oidc_providers WHERE tenant_id = $1`, [op.id]);
    }
  });

  it('off, with a provider: no invitation, no reset link and no link made earlier sets a password or signs anyone in', async () => {
    const tenant = await makeTenant(t.ds);
    const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
    const invited = await makeUser(t.ds, tenant.id);
    // A link made while passwords were still on.
    const token = randomToken(32);
    await t.ds.query(
      `INSERT INTO account_links (tenant_id, user_id, purpose, token_hash, expires_at, created_by) VALUES ($1, $2, 'invitation', $3, now() + interval '1 hour', 'test')`,
      [tenant.id, invited.id, sha256Hex(token)],
    );
    await withProvider(tenant.id);
    await api.patch(`/api/v1/tenants/${tenant.id}`).send({ passwordSignIn: false }).expect(200);

    const refused = await request(t.http).post(`/api/v1/tenants/${tenant.id}/invitations`).set('Authorization', `Bearer ${globalKey}`).send({ email: 'new@example.com' });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toBe('password_sign_in_off');
    expect(refused.body.message).toContain('company account');
    expect(await t.ds.query(`SELECT id FROM users WHERE tenant_id = $1 AND email = 'new@example.com'`, [tenant.id])).toEqual([]);

    const jar = new CookieJar();
    const page = jar.store(await jar.on(request(t.http).get(`/account/invitation?token=${token}`)));
    expect(page.status).toBe(403);
    expect(page.text).toContain('company account');
    const login = jar.store(await jar.on(request(t.http).get('/login')).expect(200));
    const set = await jar.on(request(t.http).post('/account/invitation')).type('form').send({ _csrf: csrfFieldOf(login.text), token, password: 'a bystander with a password of her own', confirm: 'a bystander with a password of her own' });
    expect(set.status).toBe(403);
    expect(String(set.headers['set-cookie'] ?? '')).not.toContain('eidp_session=');
    expect(await sessions(invited.id)).toBe(0);
    expect((await t.ds.query(`SELECT password_hash FROM users WHERE id = $1`, [invited.id]))[0].password_hash).toBeNull();

    // "Forgot password?" answers as ever (nothing told) and makes no link.
    const forgot = jar.store(await jar.on(request(t.http).get('/login/forgot')).expect(200));
    const asked = await jar.on(request(t.http).post('/login/forgot')).type('form').send({ _csrf: csrfFieldOf(forgot.text), tenant: tenant.slug, email: user.email });
    expect(asked.status).toBe(200);
    expect(asked.text).toContain('Check your email');
    let audit: { details: Record<string, unknown> }[] = [];
    for (let i = 0; i < 50 && !audit.length; i++) {
      await new Promise((r) => setTimeout(r, 100));
      audit = await t.ds.query(`SELECT details FROM audit_events WHERE type = 'password_reset.requested' AND tenant_id = $1`, [tenant.id]);
    }
    expect(audit.map((a) => a.details)).toEqual([expect.objectContaining({ sent: false, reason: 'password_sign_in_off' })]);
    expect(await t.ds.query(`SELECT id FROM account_links WHERE user_id = $1 AND purpose = 'password_reset'`, [user.id])).toEqual([]);
  });
});
