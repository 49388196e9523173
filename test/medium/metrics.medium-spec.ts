import request from 'supertest';
import { AuditService } from '../../src/audit/audit.service';
import { grantAccess, makeApiKey, makeTarget, makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { CookieJar, signIn } from '../support/cookie-jar';

/** GET /metrics: Prometheus text behind METRICS_TOKEN; the counters move with real events. */
const TOKEN = 'metrics-token-for-tests-0123456789';

function value(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

describe('GET /metrics', () => {
  let t: TestApp;
  let tenant: { id: string; slug: string };
  const scrape = async () => (await request(t.http).get('/metrics').set('Authorization', `Bearer ${TOKEN}`).expect(200)).text;

  beforeAll(async () => {
    t = await createTestApp({ env: { METRICS_TOKEN: TOKEN } });
    tenant = await makeTenant(t.ds);
  });
  afterAll(async () => {
    await t.close();
  });

  it('is refused without the token, with a wrong one, and with an admin API key', async () => {
    expect((await request(t.http).get('/metrics')).status).toBe(401);
    expect((await request(t.http).get('/metrics').set('Authorization', `Bearer ${TOKEN}x`)).status).toBe(401);
    const adminKey = await makeApiKey(t.ds);
    expect((await request(t.http).get('/metrics').set('Authorization', `Bearer ${adminKey}`)).status).toBe(401);
    const ok = await request(t.http).get('/metrics').set('Authorization', `Bearer ${TOKEN}`).expect(200);
    expect(ok.headers['content-type']).toMatch(/^text\/plain/);
  });

  it('counts logins, failures, lockouts-free refusals, handshakes; times requests by route; shows the pool', async () => {
    const password = 'a-long-enough-password-1';
    const user = await makeUser(t.ds, tenant.id, { password });
    const target = await makeTarget(t, { kind: 'metabase', slug: 'mb-metrics', baseUrl: 'https://mb.example.com', secret: 'mb-jwt-secret-for-metrics-0123456789abcdef' });
    const before = await scrape();

    const jar = new CookieJar();
    expect((await signIn(request(t.http), jar, { tenant: tenant.slug, email: user.email, password: 'wrong-password-xyz' })).status).toBe(401);
    expect((await signIn(request(t.http), jar, { tenant: tenant.slug, email: user.email, password })).status).toBe(303);
    // No access granted yet: a refusal with its reason.
    await jar.on(request(t.http).get(`/sso/${target.slug}`));
    await grantAccess(t.ds, tenant.id, target.id);
    const handshake = await jar.on(request(t.http).get(`/sso/${target.slug}`));
    expect(handshake.status).toBe(302);
    expect(handshake.headers.location).toMatch(/^https:\/\/mb\.example\.com\/auth\/sso\?jwt=/);

    const after = await scrape();
    const delta = (s: string) => value(after, s) - value(before, s);
    expect(delta('embed_idp_logins_total{outcome="success"}')).toBe(1);
    expect(delta('embed_idp_logins_total{outcome="failure"}')).toBe(1);
    expect(delta('embed_idp_refusals_total{flow="sso",reason="no_access"}')).toBe(1);
    expect(delta('embed_idp_handshakes_total{flow="sso"}')).toBe(1);
    expect(delta('embed_idp_http_request_duration_seconds_count{method="GET",route="/sso/:target",status="302"}')).toBeGreaterThanOrEqual(1);
    expect(value(after, 'embed_idp_db_pool_connections{state="max"}')).toBe(20);
    expect(value(after, 'embed_idp_db_pool_connections{state="total"}')).toBeGreaterThan(0);
    expect(after).toContain('embed_idp_lockouts_total 0');
  });
});

describe('GET /metrics without METRICS_TOKEN', () => {
  it('is off: 404 even with a bearer', async () => {
    const t = await createTestApp({ env: { METRICS_TOKEN: undefined } });
    try {
      expect((await request(t.http).get('/metrics').set('Authorization', 'Bearer anything-at-all-0123456789')).status).toBe(404);
    } finally {
      await t.close();
    }
  });
});

describe('audit metrics and transactions', () => {
  let t: TestApp;
  const scrape = async () => (await request(t.http).get('/metrics').set('Authorization', `Bearer ${TOKEN}`).expect(200)).text;
  const meta = { actor: 'system', ip: null, requestId: null };

  beforeAll(async () => {
    t = await createTestApp({ env: { METRICS_TOKEN: TOKEN } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('counts an event only once its transaction committed: a rollback (or a rolled-back savepoint) moves no counter', async () => {
    const audit = t.app.get(AuditService);
    const series = 'embed_idp_logins_total{outcome="success"}';
    const before = value(await scrape(), series);
    await expect(
      t.ds.transaction(async (m) => {
        await audit.record(meta, { type: 'login.success' }, m);
        throw new Error('rolled back on purpose');
      }),
    ).rejects.toThrow('rolled back on purpose');
    expect(value(await scrape(), series) - before).toBe(0);

    await t.ds.transaction(async (m) => {
      await audit.record(meta, { type: 'login.success' }, m);
      // Not counted before the commit either: the transaction could still roll back.
      expect(value(await scrape(), series) - before).toBe(0);
      await expect(
        m.transaction(async (inner) => {
          await audit.record(meta, { type: 'login.success' }, inner);
          throw new Error('savepoint rolled back');
        }),
      ).rejects.toThrow('savepoint rolled back');
    });
    expect(value(await scrape(), series) - before).toBe(1);
    // Without a transaction, the insert has committed when record returns.
    await audit.record(meta, { type: 'login.success' });
    expect(value(await scrape(), series) - before).toBe(2);
  });
});
