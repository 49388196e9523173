import request from 'supertest';
import { makeApiKey } from '../factories';
import { createTestApp, TestApp } from '../setup/app';

/** The admin API takes JSON objects: a form-encoded or text body is a 415 naming the header, an array a 400. */
describe('admin API bodies', () => {
  let t: TestApp;
  let key: string;
  const count = async () => Number((await t.ds.query(`SELECT count(*) AS n FROM tenants`))[0].n);

  beforeAll(async () => {
    t = await createTestApp();
    key = await makeApiKey(t.ds);
  });
  afterAll(async () => {
    await t.close();
  });

  it.each([
    ['form-encoded (curl -d without -H)', 'application/x-www-form-urlencoded'],
    ['text/plain', 'text/plain'],
  ])('JSON sent as %s: 415 naming content-type: application/json, nothing written', async (_label, type) => {
    const res = await request(t.http)
      .post('/api/v1/tenants')
      .set('Authorization', `Bearer ${key}`)
      .set('content-type', type)
      .send('{"slug":"acme","name":"Acme"}')
      .expect(415);
    expect(res.body.error).toBe('unsupported_media_type');
    expect(res.body.message).toContain('content-type: application/json');
    expect(res.body.message).not.toContain('should not exist');
    expect(await count()).toBe(0);
  });

  it('a JSON array: 400 "The request body must be a JSON object"', async () => {
    const res = await request(t.http).post('/api/v1/tenants').set('Authorization', `Bearer ${key}`).send([{ slug: 'acme', name: 'Acme' }]).expect(400);
    expect(res.body).toMatchObject({ error: 'invalid_body', message: 'The request body must be a JSON object' });
    expect(await count()).toBe(0);
  });

  it('application/json with a charset still works; a GET without a body needs no content-type', async () => {
    await request(t.http)
      .post('/api/v1/tenants')
      .set('Authorization', `Bearer ${key}`)
      .set('content-type', 'application/json; charset=utf-8')
      .send('{"slug":"acme","name":"Acme"}')
      .expect(201);
    await request(t.http).get('/api/v1/tenants').set('Authorization', `Bearer ${key}`).expect(200);
  });
});
