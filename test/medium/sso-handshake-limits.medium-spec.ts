import request from 'supertest';
import { SessionsService } from '../../src/auth/sessions.service';
import { FakeSisense, startFakeSisense } from '../fakes/sisense';
import { grantAccess, makeTarget, makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';

/**
 * A shared Sisense account ("one account per client"): every user of the tenant signs in as
 * one Sisense user, so they share one iat sequence, capped 240 s ahead of the clock. One
 * member's session hammering the handshake must not take that whole headroom: a colleague's
 * session still gets a token. Per-session handshake rate (in-process, no database) and a fair
 * share of the sequence per session, on the fast path and through the full pipeline.
 */
const SECRET = 'e2e-sisense-limits-secret-0123456789abcdef';

describe.each([
  ['the fast path, default limits', {}, 'too_many_handshakes'],
  ['the full pipeline (SSO_FAST_PATH=off), default limits', { SSO_FAST_PATH: 'off' }, 'too_many_handshakes'],
  ['the fair share alone (per-session rate lifted)', { SSO_SESSION_BURST: '1000', SSO_SESSION_RATE: '1000' }, 'iat_share_exceeded'],
] as const)('one session hammering a shared Sisense account, through %s', (_name, env, reason) => {
  let t: TestApp;
  let fake: FakeSisense;
  let target: { id: string; slug: string };
  let tenant: { id: string };

  beforeAll(async () => {
    t = await createTestApp({ env: { ...env } });
    fake = await startFakeSisense({ secret: SECRET });
    target = await makeTarget(t, { kind: 'sisense', baseUrl: fake.url, secret: SECRET });
    tenant = await makeTenant(t.ds);
    await grantAccess(t.ds, tenant.id, target.id, { settings: { sharedAccount: { email: `client-${Date.now()}@acme.example` } } });
  });
  afterAll(async () => {
    await fake?.close();
    await t?.close();
  });

  async function member() {
    const user = await makeUser(t.ds, tenant.id, {});
    const s = await t.app.get(SessionsService).create({ id: user.id, tenantId: tenant.id }, { ip: null, userAgent: 'jest' });
    return { user, cookie: `eidp_session=${s.token}` };
  }
  const sso = (cookie: string) => request(t.http).get(`/sso/${target.slug}?return_to=%2F`).set('Cookie', cookie);

  it('leaves room for a colleague, answers the hammering session 429 with Retry-After, and audits it once per burst', async () => {
    const hammer = await member();
    const colleague = await member();
    const statuses: number[] = [];
    let retryAfter: string | undefined;
    // ~400 quick handshakes, 20 at a time: before any limit, the first ~240 pushed the shared
    // sequence to its cap and every later one polled for the freed slots.
    for (let wave = 0; wave < 20; wave++) {
      const answers = await Promise.all(Array.from({ length: 20 }, () => sso(hammer.cookie)));
      for (const a of answers) {
        statuses.push(a.status);
        if (a.status === 429) retryAfter ??= a.headers['retry-after'];
      }
    }
    const res = await sso(colleague.cookie);
    expect(res.status).toBe(302);
    expect(res.headers.location).toMatch(new RegExp(`^${fake.url}/jwt\\?jwt=`));

    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);

    // The hammering session holds at most a fraction of the 240 s headroom.
    const [seq] = await t.ds.query(`SELECT max(last_iat) - extract(epoch FROM now())::bigint AS ahead FROM iat_sequences`);
    expect(Number(seq.ahead)).toBeLessThanOrEqual(120);
    // Refusals are audited at most once per burst, not one row per refused request.
    const [audited] = await t.ds.query(
      `SELECT count(*)::int AS n FROM audit_events WHERE type = 'sso.denied' AND actor = $1`,
      [`user:${hammer.user.id}`],
    );
    expect(audited.n).toBeLessThanOrEqual(3);
    const [why] = await t.ds.query(`SELECT details FROM audit_events WHERE type = 'sso.denied' AND actor = $1 ORDER BY id LIMIT 1`, [`user:${hammer.user.id}`]);
    expect(why.details).toMatchObject({ reason, userId: hammer.user.id });
  });
});
