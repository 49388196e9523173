import request from 'supertest';
import jwt from 'jsonwebtoken';
import { SessionsService } from '../../src/auth/sessions.service';
import { grantAccess, makeTarget, makeTenant, makeUser } from '../factories';
import { FakeTableau, startFakeTableau } from '../fakes/tableau';
import { createTestApp, TestApp } from '../setup/app';

/**
 * GET /embed/<target>/token: a token for the product's browser SDK, here Tableau's
 * `<tableau-viz token>`. Every token is checked by the fake Tableau (jsonwebtoken, not our
 * code), recorded in the ledger and audited before it leaves, minted per request; refusals
 * as for SSO, each audited, none leaving a record.
 */
const CLIENT = '0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d';
const SECRET_ID = '9f8e7d6c-5b4a-3928-1706-f5e4d3c2b1a0';
const SECRET = 'tableau-connected-app-secret-value-0123456789';
const APP = 'https://host-app.example.com';

describe('JSON token endpoint for Tableau (GET /embed/:target/token)', () => {
  let t: TestApp;
  let tableau: FakeTableau;
  let tenant: { id: string; slug: string };
  let user: { id: string; email: string };
  let cookie: string;

  const sessionCookie = async (u: { id: string }, tenantId: string) =>
    `eidp_session=${(await t.app.get(SessionsService).create({ id: u.id, tenantId }, { ip: null, userAgent: null })).token}`;
  const count = async (sql: string, params: unknown[] = []) => Number((await t.ds.query(sql, params))[0].n);
  const site = async (settings: object = {}, access: { attributes?: object; settings?: object; groupMappings?: Record<string, string[]> } | null = {}) => {
    const target = await makeTarget(t, { kind: 'tableau', baseUrl: tableau.url, secret: SECRET, settings: { clientId: CLIENT, secretId: SECRET_ID, allowedOrigins: [APP], ...settings } });
    if (access) await grantAccess(t.ds, tenant.id, target.id, access);
    return target;
  };
  const get = (slug: string, c: string | null = cookie) => {
    const r = request(t.http).get(`/embed/${slug}/token`);
    return c ? r.set('Cookie', c) : r;
  };
  const tokensOf = (targetId: string) => count(`SELECT count(*) AS n FROM issued_tokens WHERE target_id = $1`, [targetId]);
  const denied = (slug: string, reason: string) =>
    count(`SELECT count(*) AS n FROM audit_events WHERE type = 'token.denied' AND details->>'target' = $1 AND details->>'reason' = $2`, [slug, reason]);

  beforeAll(async () => {
    t = await createTestApp({ env: { SSO_SESSION_BURST: '100000', SSO_SESSION_RATE: '100000' } });
    tenant = await makeTenant(t.ds, { attributes: { region: 'tenant-region', plan: 'gold' } });
    user = await makeUser(t.ds, tenant.id, { email: `ada-${Date.now()}@acme.example`, attributes: { region: 'user-region', team: 'blue', username: 'ada.tableau' }, groups: ['analysts'] });
    cookie = await sessionCookie(user, tenant.id);
    tableau = await startFakeTableau({ clientId: CLIENT, secretId: SECRET_ID, secret: SECRET, users: [user.email, 'ada.tableau'], allowedOrigins: [APP] });
  });
  afterAll(async () => {
    await tableau.close();
    await t.close();
  });

  it('answers {token, expiresAt}: a token Tableau accepts, recorded and audited before it left', async () => {
    const target = await site({}, { attributes: { region: 'access-region' }, settings: { userAttributes: ['region', 'team', 'plan', 'missing'] } });
    const res = await get(target.slug).expect(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(Object.keys(res.body).sort()).toEqual(['expiresAt', 'token']);
    const checked = tableau.verify(res.body.token);
    expect(checked).toMatchObject({ ok: true, signIn: { sub: user.email, scp: ['tableau:views:embed'] } });
    const { header, payload } = jwt.decode(res.body.token, { complete: true }) as unknown as { header: Record<string, unknown>; payload: Record<string, unknown> };
    expect(header).toEqual({ alg: 'HS256', typ: 'JWT', kid: SECRET_ID, iss: CLIENT });
    // Only the attributes the access lists, each access > user > tenant; none it does not list.
    expect(payload).toMatchObject({ aud: 'tableau', region: 'access-region', team: 'blue', plan: 'gold' });
    expect(payload).not.toHaveProperty('missing');
    expect(payload).not.toHaveProperty('username');
    expect(Object.keys(payload).sort()).toEqual(['aud', 'exp', 'iat', 'iss', 'jti', 'plan', 'region', 'scp', 'sub', 'team']);
    expect(payload.iss).toBe(CLIENT);
    expect((payload.exp as number) - (payload.iat as number)).toBe(300);
    expect(new Date(res.body.expiresAt).getTime() / 1000).toBe(payload.exp);
    const [row] = await t.ds.query(`SELECT iat, exp, user_id FROM issued_tokens WHERE jti = $1`, [payload.jti]);
    expect(row).toEqual({ iat: String(payload.iat), exp: String(payload.exp), user_id: user.id });
    expect(await count(`SELECT count(*) AS n FROM audit_events WHERE type = 'token.issued' AND details->>'jti' = $1`, [payload.jti])).toBe(1);
  });

  it('mints per request (never a cached token), with the configured scopes, lifetime and username source', async () => {
    const target = await site({ scopes: ['tableau:views:embed', 'tableau:insights:embed'], tokenTtlSeconds: 600, usernameClaim: 'username' }, {});
    const [a, b] = await Promise.all([get(target.slug).expect(200), get(target.slug).expect(200)]);
    expect(a.body.token).not.toBe(b.body.token);
    for (const r of [a, b]) expect(tableau.verify(r.body.token)).toMatchObject({ ok: true, signIn: { sub: 'ada.tableau', scp: ['tableau:views:embed', 'tableau:insights:embed'] } });
    const p = jwt.decode(a.body.token) as Record<string, number>;
    expect(p.exp - p.iat).toBe(600);
    expect(await tokensOf(target.id)).toBe(2);
  });

  it('sends on-demand access with the mapped groups when the access asks for it', async () => {
    const target = await site({}, { groupMappings: { analysts: ['Tableau Analysts'] }, settings: { onDemandAccess: true } });
    const res = await get(target.slug).expect(200);
    expect(jwt.decode(res.body.token)).toMatchObject({ 'https://tableau.com/oda': true, 'https://tableau.com/groups': ['Tableau Analysts'] });
  });

  it('never signs more than 10 minutes ahead, whatever a stored setting says', async () => {
    const target = await site();
    await t.ds.query(`UPDATE targets SET settings = settings || '{"tokenTtlSeconds": 3600}' WHERE id = $1`, [target.id]);
    const res = await get(target.slug).expect(200);
    const p = jwt.decode(res.body.token) as Record<string, number>;
    expect(p.exp - p.iat).toBeLessThanOrEqual(600);
  });

  describe('refusals, as for SSO: audited, JSON, nothing recorded', () => {
    it('no session: 401', async () => {
      const target = await site();
      const res = await get(target.slug, null).expect(401);
      expect(res.body.error).toBe('no_session');
      expect(await tokensOf(target.id)).toBe(0);
    });

    it('no access for the tenant: 403', async () => {
      const target = await site({}, null);
      expect((await get(target.slug).expect(403)).body.error).toBe('no_access');
      expect(await tokensOf(target.id)).toBe(0);
      expect(await denied(target.slug, 'no_access')).toBe(1);
    });

    it('unknown target: 404', async () => {
      expect((await get('no-such-target').expect(404)).body.error).toBe('target_not_found');
      expect(await denied('no-such-target', 'unknown_target')).toBe(1);
    });

    it('disabled target: 403', async () => {
      const target = await site();
      await t.ds.query(`UPDATE targets SET disabled = true WHERE id = $1`, [target.id]);
      expect((await get(target.slug).expect(403)).body.error).toBe('target_disabled');
      expect(await tokensOf(target.id)).toBe(0);
      expect(await denied(target.slug, 'target_disabled')).toBe(1);
    });

    it('a product without a token endpoint (Metabase): 400', async () => {
      const target = await makeTarget(t, { kind: 'metabase', baseUrl: 'https://metabase.example.com', secret: SECRET });
      await grantAccess(t.ds, tenant.id, target.id);
      expect((await get(target.slug).expect(400)).body.error).toBe('token_not_supported');
      expect(await tokensOf(target.id)).toBe(0);
    });

    it('the username attribute missing: 400 naming it', async () => {
      const target = await site({ usernameClaim: 'tableau_user' }, {});
      const res = await get(target.slug).expect(400);
      expect(res.body).toMatchObject({ error: 'tableau_username_missing', details: { attribute: 'tableau_user' } });
      expect(await tokensOf(target.id)).toBe(0);
      expect(await denied(target.slug, 'tableau_username_missing')).toBe(1);
    });

    it('CORS: an allow-listed origin gets credentialed CORS, another is refused before anything is minted', async () => {
      const target = await site();
      const ok = await get(target.slug).set('Origin', APP).expect(200);
      expect(ok.headers['access-control-allow-origin']).toBe(APP);
      expect(ok.headers['access-control-allow-credentials']).toBe('true');
      await get(target.slug).set('Origin', 'https://evil.example').expect(403);
      await get(target.slug).set('Sec-Fetch-Site', 'cross-site').expect(403);
      expect(await tokensOf(target.id)).toBe(1);
      expect(await denied(target.slug, 'origin_not_allowed')).toBe(2);
      const pre = await request(t.http).options(`/embed/${target.slug}/token`).set('Origin', APP).set('Access-Control-Request-Method', 'GET').expect(204);
      expect(pre.headers['access-control-allow-methods']).toBe('GET, OPTIONS');
      await request(t.http).options(`/embed/${target.slug}/token`).set('Origin', 'https://evil.example').expect(403);
    });

    it('a disabled user\'s cookie: 403 account_disabled', async () => {
      const target = await site();
      const other = await makeUser(t.ds, tenant.id, {});
      const c = await sessionCookie(other, tenant.id);
      await t.ds.query(`UPDATE users SET disabled = true WHERE id = $1`, [other.id]);
      expect((await get(target.slug, c).expect(403)).body.error).toBe('account_disabled');
      expect(await tokensOf(target.id)).toBe(0);
    });
  });
});
