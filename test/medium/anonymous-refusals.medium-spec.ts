import request from 'supertest';
import { ANONYMOUS_REFUSALS_PER_IP } from '../../src/audit/audit.service';
import { makeTarget } from '../factories';
import { createTestApp, TestApp } from '../setup/app';

/**
 * every anonymous refusal (/sso/<unknown>, a bad return_to) wrote an audit
 * row, so anyone could fill the audit table. Anonymous refusals are rate-limited per client IP
 * (and overall) before they are audited; the refusal itself is still answered every time.
 */
describe('anonymous refusals are audited within a budget', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { TRUST_PROXY: 'loopback' } });
  });
  afterAll(async () => {
    await t.close();
  });

  const rowsFrom = async (ip: string) =>
    Number((await t.ds.query(`SELECT count(*)::int AS n FROM audit_events WHERE type = 'sso.denied' AND ip = $1`, [ip]))[0].n);

  it('answers every refusal, audits at most the per-IP budget, and other IPs still get audited', async () => {
    const target = await makeTarget(t, { kind: 'metabase', baseUrl: 'https://mb.example.com', secret: 's'.repeat(64) });
    const ip = '192.0.2.200';
    const statuses: number[] = [];
    const started = Date.now();
    for (let i = 0; i < 150; i++) {
      const res =
        i % 2
          ? await request(t.http).get(`/sso/no-such-target-${i}`).set('X-Forwarded-For', ip)
          : await request(t.http).get(`/sso/${target.slug}?return_to=https://evil.example.net/`).set('X-Forwarded-For', ip);
      statuses.push(res.status);
    }
    expect(statuses.filter((s, i) => s !== (i % 2 ? 404 : 400))).toEqual([]);
    const audited = await rowsFrom(ip);
    expect(audited).toBeGreaterThan(0);
    // The budget, plus what it refilled (one per 6 s) while the requests ran.
    expect(audited).toBeLessThanOrEqual(ANONYMOUS_REFUSALS_PER_IP + Math.ceil((Date.now() - started) / 6000));

    await request(t.http).get('/sso/no-such-target').set('X-Forwarded-For', '192.0.2.201').expect(404);
    expect(await rowsFrom('192.0.2.201')).toBe(1);
    // Every refusal left out is counted on a later written row (the budget refills as the test
    // runs, so some may be on rows of the first IP): none is lost without a trace.
    const [sum] = await t.ds.query(
      `SELECT coalesce(sum((details->>'notAuditedBefore')::int), 0)::int AS n FROM audit_events WHERE type = 'sso.denied' AND ip IN ($1, '192.0.2.201')`,
      [ip],
    );
    expect(sum.n).toBe(150 - audited);
  });
});
