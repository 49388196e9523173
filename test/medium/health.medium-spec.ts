import request from 'supertest';
import { createTestApp, TestApp } from '../setup/app';

describe('health', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('live answers 200 without credentials and carries a request id', async () => {
    const res = await request(t.http).get('/health/live').expect(200);
    expect(res.body).toEqual({ status: 'ok' });
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('ready answers 200 while Postgres answers', async () => {
    const res = await request(t.http).get('/health/ready').expect(200);
    expect(res.body.info.database.status).toBe('up');
  });

  it('keeps a sane incoming X-Request-Id and puts it in error bodies', async () => {
    const res = await request(t.http).get('/api/v1/nothing-here').set('X-Request-Id', 'abc-123').expect(404);
    expect(res.headers['x-request-id']).toBe('abc-123');
    expect(res.body.requestId).toBe('abc-123');
  });
});
