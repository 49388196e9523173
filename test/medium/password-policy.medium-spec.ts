import request from 'supertest';
import { makeApiKey, makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';

/** One password rule wherever a password is set: here the admin API's create and set-password. */
describe('password policy through the admin API', () => {
  let t: TestApp;
  let key: string;
  let tenant: { id: string };

  beforeAll(async () => {
    t = await createTestApp();
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
});
