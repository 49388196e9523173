import request from 'supertest';
import { QueryFailedError } from 'typeorm';
import { loggableError } from '../../src/common/http-error.filter';
import { dataSourceOptions } from '../../src/database/data-source';
import { makeApiKey, makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { CookieJar, csrfFieldOf, signIn } from '../support/cookie-jar';

/**
 * Input Postgres cannot store (NUL, unpaired surrogates), prototype keys and absurd nesting
 * are refused with a 400 naming where they are — never a 500, never a row written.
 */
describe('bad input never becomes a 500', () => {
  let t: TestApp;
  let key: string;
  let tenant: { id: string; slug: string };
  const auth = () => ({ Authorization: `Bearer ${key}` });
  const count = async (table: string) => Number((await t.ds.query(`SELECT count(*) AS n FROM ${table}`))[0].n);

  beforeAll(async () => {
    t = await createTestApp();
    key = await makeApiKey(t.ds);
    tenant = await makeTenant(t.ds);
  });
  afterAll(async () => {
    await t.close();
  });

  it.each([
    ['a NUL in a tenant name', '/api/v1/tenants', { slug: 'nul-name', name: 'Ac\u0000me' }, 'body.name'],
    ['a NUL in an attribute value', '/api/v1/tenants', { slug: 'nul-attr', name: 'Acme', attributes: { region: 'e\u0000u' } }, 'body.attributes.region'],
    ['a lone surrogate in a tenant name', '/api/v1/tenants', { slug: 'surrogate', name: 'Acme \ud800' }, 'body.name'],
  ])('%s: 400 invalid_characters naming the field, nothing written', async (_label, url, body, field) => {
    const before = await count('tenants');
    const res = await request(t.http).post(url).set(auth()).send(body).expect(400);
    expect(res.body).toMatchObject({ error: 'invalid_characters', details: { field } });
    expect(res.body.message).toContain(field);
    expect(await count('tenants')).toBe(before);
  });

  it('a NUL in a user search query: 400, not a 500', async () => {
    const res = await request(t.http).get(`/api/v1/tenants/${tenant.id}/users?email=%00`).set(auth()).expect(400);
    expect(res.body.error).toBe('invalid_characters');
  });

  it('a NUL in a user or group name: 400 naming the field', async () => {
    const user = await request(t.http).post(`/api/v1/tenants/${tenant.id}/users`).set(auth()).send({ email: 'x@example.com', firstName: 'A\u0000' }).expect(400);
    expect(user.body.details).toEqual({ field: 'body.firstName' });
    const group = await request(t.http).post(`/api/v1/tenants/${tenant.id}/groups`).set(auth()).send({ name: 'g\udc00' }).expect(400);
    expect(group.body.details).toEqual({ field: 'body.name' });
  });

  it('prototype keys are refused, not silently dropped', async () => {
    for (const attributes of [{ constructor: 'x' }, JSON.parse('{"__proto__": {"admin": true}}')]) {
      const res = await request(t.http).post('/api/v1/tenants').set(auth()).send({ slug: 'proto', name: 'Proto', attributes }).expect(400);
      expect(res.body.error).toBe('invalid_key');
    }
    const top = await request(t.http).post('/api/v1/tenants').set(auth()).set('content-type', 'application/json').send('{"slug":"proto","name":"P","__proto__":{"x":1}}').expect(400);
    expect(top.body.error).toBe('invalid_key');
    expect((await t.ds.query(`SELECT 1 FROM tenants WHERE slug = 'proto'`)).length).toBe(0);
  });

  it('JSON nested 5,000 deep: 400 too_deeply_nested', async () => {
    const deep = '{"a":'.repeat(5000) + '1' + '}'.repeat(5000);
    const body = `{"slug":"deep","name":"Deep","attributes":${deep}}`;
    const res = await request(t.http).post('/api/v1/tenants').set(auth()).set('content-type', 'application/json').send(body).expect(400);
    expect(res.body.error).toBe('too_deeply_nested');
  });

  it('POST /login with a NUL in the email: the form again with 400, nothing looked up', async () => {
    await makeUser(t.ds, tenant.id, { email: 'ada@example.com', password: 'a long enough password' });
    const jar = new CookieJar();
    const page = jar.store(await jar.on(request(t.http).get('/login')));
    const res = await jar
      .on(request(t.http).post('/login'))
      .type('form')
      .send({ _csrf: csrfFieldOf(page.text), tenant: tenant.slug, email: 'ada\u0000@example.com', password: 'a long enough password' });
    expect(res.status).toBe(400);
    expect(res.text).toContain('not allowed');
    expect(await count('sessions')).toBe(0);
    // And the same person signs in normally afterwards.
    expect((await signIn(request(t.http), jar, { tenant: tenant.slug, email: 'ada@example.com', password: 'a long enough password' })).status).toBe(303);
  });
});

describe('what reaches the log of a database error', () => {
  it('keeps the code and constraint of a failed query, never its parameters or the driver detail', () => {
    const secret = 'sealed-secret-v1.abcdef0123456789';
    const driverError = Object.assign(new Error('duplicate key value violates unique constraint "uq_users_tenant_email"'), {
      code: '23505',
      constraint: 'uq_users_tenant_email',
      detail: 'Key (tenant_id, email)=(t, ada@example.com) already exists.',
    });
    const err = new QueryFailedError('INSERT INTO users (password_hash) VALUES ($1)', ['$argon2id$v=19$m=19456,t=2,p=1$salt$hash', secret], driverError);
    const logged = JSON.stringify(loggableError(err));
    expect(logged).toContain('23505');
    expect(logged).toContain('uq_users_tenant_email');
    expect(logged).not.toContain(secret);
    expect(logged).not.toContain('argon2id');
    expect(logged).not.toContain('ada@example.com');
  });

  it("TypeORM's own query logger (which prints parameters as plain text) is off", () => {
    expect(dataSourceOptions('postgres://x@127.0.0.1/x').logging).toBe(false);
  });
});
