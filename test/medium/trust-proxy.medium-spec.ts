import request from 'supertest';
import { makeTenant } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { CookieJar, csrfFieldOf } from '../support/cookie-jar';

const IP_LIMIT = 5;

/**
 * with every hop trusted, a client-sent X-Forwarded-For chose the client
 * IP — rotating it past the per-IP login limit and forging audit IPs. Here the service sits
 * behind ONE proxy (TRUST_PROXY=1): the proxy appends the address it saw to whatever the
 * client sent, and only that last entry is believed.
 */
describe('TRUST_PROXY=1 behind one proxy', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { TRUST_PROXY: '1', LOGIN_IP_LIMIT: String(IP_LIMIT), LOGIN_IP_WINDOW: '600' } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('a forged X-Forwarded-For cannot rotate the client IP past the per-IP limit, nor forge the audit IP', async () => {
    const tenant = await makeTenant(t.ds);
    const jar = new CookieJar();
    const page = jar.store(await request(t.http).get('/login').expect(200));
    const client = '203.0.113.50';
    const statuses: number[] = [];
    for (let i = 0; i < IP_LIMIT + 3; i++) {
      // What the proxy forwards: the client's forged header, then the address the proxy saw.
      const res = await jar
        .on(request(t.http).post('/login'))
        .set('X-Forwarded-For', `198.18.${i}.1, ${client}`)
        .type('form')
        .send({ _csrf: csrfFieldOf(page.text), tenant: tenant.slug, email: `nobody-${i}@example.com`, password: 'nope-nope' });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([...Array(IP_LIMIT).fill(401), 429, 429, 429]);
    const ips = await t.ds.query(`SELECT DISTINCT ip FROM audit_events WHERE type = 'login.failure' AND tenant_id = $1`, [tenant.id]);
    expect(ips).toEqual([{ ip: client }]);
  });
});
