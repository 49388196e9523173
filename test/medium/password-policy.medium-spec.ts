import request from 'supertest';
import { OperatorBootstrap, OperatorsService } from '../../src/console/operators.service';
import { randomToken, sha256Hex } from '../../src/crypto/tokens';
import { makeApiKey, makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { CookieJar, csrfFieldOf, signIn } from '../support/cookie-jar';

const OP_EMAIL = 'op@platform.example';
const OP_PASSWORD = 'operator password 0001';

/**
 * One password rule wherever a password is set: the admin API's create and set-password, the
 * console's, a reset link, `npm run create-operator` (OperatorsService) and the bootstrap
 * operator. (Invitations and the account page: accounts.medium-spec.ts.)
 */
describe('password policy wherever a password is set', () => {
  let t: TestApp;
  let key: string;
  let tenant: { id: string; slug: string };

  beforeAll(async () => {
    t = await createTestApp({ env: { BOOTSTRAP_OPERATOR_EMAIL: OP_EMAIL, BOOTSTRAP_OPERATOR_PASSWORD: OP_PASSWORD } });
    key = await makeApiKey(t.ds);
    tenant = await makeTenant(t.ds);
  });
  afterAll(() => t.close());

  const users = () => `/api/v1/tenants/${tenant.id}/users`;
  const count = async () => Number((await t.ds.query(`SELECT count(*)::int AS n FROM users WHERE tenant_id = $1`, [tenant.id]))[0].n);

  it.each([
    ['a common password', { email: 'weak@acme.test', password: 'password1234' }, /^password is too easy to guess\. This is similar to a commonly used password\./],
    ['the email itself', { email: 'grace.hopper@acme.test', password: 'grace.hopper@acme.test' }, /must not contain your email address or your name/],
    ['the name inside', { email: 'gh@acme.test', firstName: 'Grace', lastName: 'Hopperton', password: 'hopperton rules the navy' }, /must not contain your email address or your name/],
  ])('create refuses %s with a 400 in words and writes nothing', async (_name, body, message) => {
    const before = await count();
    const res = await request(t.http).post(users()).set('Authorization', `Bearer ${key}`).send(body).expect(400);
    expect(res.body.error).toBe('weak_password');
    expect(res.body.message).toMatch(message);
    expect(JSON.stringify(res.body)).not.toContain(body.password);
    expect(await count()).toBe(before);
  });

  it('create accepts a strong phrase', async () => {
    await request(t.http).post(users()).set('Authorization', `Bearer ${key}`).send({ email: 'strong@acme.test', password: 'a bystander with a password of her own' }).expect(201);
  });

  it('set-password refuses a weak one (the hash unchanged) and the user’s own email', async () => {
    const u = await makeUser(t.ds, tenant.id, { email: 'kept@acme.test', password: 'correct horse battery staple' });
    const [before] = await t.ds.query(`SELECT password_hash FROM users WHERE id = $1`, [u.id]);
    for (const password of ['password1234', 'kept@acme.test-2024']) {
      const res = await request(t.http).put(`${users()}/${u.id}/password`).set('Authorization', `Bearer ${key}`).send({ password }).expect(400);
      expect(res.body.error).toBe('weak_password');
    }
    const [after] = await t.ds.query(`SELECT password_hash FROM users WHERE id = $1`, [u.id]);
    expect(after.password_hash).toBe(before.password_hash);
    expect(await t.ds.query(`SELECT 1 FROM audit_events WHERE type = 'user.password_set' AND details->>'userId' = $1`, [u.id])).toHaveLength(0);
  });

  const hashOf = async (id: string) => (await t.ds.query(`SELECT password_hash FROM users WHERE id = $1`, [id]))[0].password_hash as string | null;

  it('the console refuses a weak password when it creates a user and when it sets one, in words, writing nothing', async () => {
    const op = new CookieJar();
    expect((await signIn(request(t.http), op, { tenant: 'operators', email: OP_EMAIL, password: OP_PASSWORD })).status).toBe(303);
    const page = op.store(await op.on(request(t.http).get(`/console/tenants/${tenant.id}`)).expect(200));
    const before = await count();
    const created = await op.on(request(t.http).post(`/console/tenants/${tenant.id}/users`)).type('form').send({ _csrf: csrfFieldOf(page.text), email: 'console-weak@acme.test', password: 'password1234' });
    expect(created.status).toBe(400);
    expect(created.text).toContain('too easy to guess');
    expect(await count()).toBe(before);

    const u = await makeUser(t.ds, tenant.id, { email: 'console-kept@acme.test', firstName: 'Kept', password: 'correct horse battery staple' });
    const old = await hashOf(u.id);
    const userPage = op.store(await op.on(request(t.http).get(`/console/tenants/${tenant.id}/users/${u.id}`)).expect(200));
    for (const [password, message] of [['password1234', 'too easy to guess'], ['console-kept is my password', 'must not contain your email address or your name']]) {
      const res = await op.on(request(t.http).post(`/console/tenants/${tenant.id}/users/${u.id}/password`)).type('form').send({ _csrf: csrfFieldOf(userPage.text), password });
      expect(res.status).toBe(400);
      expect(res.text).toContain(message);
    }
    expect(await hashOf(u.id)).toBe(old);
  });

  it('a reset link refuses a weak password (the link still usable, the hash unchanged)', async () => {
    const u = await makeUser(t.ds, tenant.id, { email: 'reset-weak@acme.test', firstName: 'Reset', password: 'correct horse battery staple' });
    const old = await hashOf(u.id);
    const token = randomToken(32);
    await t.ds.query(
      `INSERT INTO account_links (tenant_id, user_id, purpose, token_hash, expires_at, created_by) VALUES ($1, $2, 'password_reset', $3, now() + interval '30 minutes', 'test')`,
      [tenant.id, u.id, sha256Hex(token)],
    );
    const jar = new CookieJar();
    const page = jar.store(await jar.on(request(t.http).get(`/account/reset?token=${token}`)).expect(200));
    for (const [password, message] of [['password1234', 'too easy to guess'], ['reset-weak@acme.test', 'must not contain your email address or your name'], ['short', 'at least 12 characters']]) {
      const res = await jar.on(request(t.http).post('/account/reset')).type('form').send({ _csrf: csrfFieldOf(page.text), token, password, confirm: password });
      expect(res.status).toBe(400);
      expect(res.text).toContain(message);
    }
    expect(await hashOf(u.id)).toBe(old);
    expect((await t.ds.query(`SELECT used_at FROM account_links WHERE token_hash = $1`, [sha256Hex(token)]))[0].used_at).toBeNull();
  });

  it('npm run create-operator (OperatorsService) refuses a weak password: no operator made', async () => {
    const operators = t.app.get(OperatorsService);
    const meta = { actor: 'cli:create-operator', ip: null, requestId: null };
    for (const password of ['password1234', 'second.op@platform.example!']) {
      await expect(operators.createOperator(meta, 'second.op@platform.example', password)).rejects.toMatchObject({ code: 'weak_password', status: 400 });
    }
    expect(await t.ds.query(`SELECT id FROM users WHERE email = 'second.op@platform.example'`)).toEqual([]);
  });

  it('a weak BOOTSTRAP_OPERATOR_PASSWORD stops the start, naming the variable', async () => {
    const boot = new OperatorBootstrap(t.app.get(OperatorsService), { bootstrapOperator: { email: 'boot@platform.example', password: 'password1234' } } as never);
    await expect(boot.onApplicationBootstrap()).rejects.toThrow(/^BOOTSTRAP_OPERATOR_PASSWORD: password is too easy to guess/);
    expect(await t.ds.query(`SELECT id FROM users WHERE email = 'boot@platform.example'`)).toEqual([]);
  });
});
