import request from 'supertest';
import jwt from 'jsonwebtoken';
import { SessionsService } from '../../src/auth/sessions.service';
import { grantAccess, makeTarget, makeTenant, makeUser } from '../factories';
import { FakeSigma, startFakeSigma } from '../fakes/sigma';
import { createTestApp, TestApp } from '../setup/app';

/**
 * GET /embed/<target>/workbook/<workbook>: Sigma's embed URL with our token in it. Every URL
 * is opened on the fake Sigma (jsonwebtoken, not our code); every token recorded and audited
 * before it leaves, minted per request; refusals as for SSO, none leaving a record.
 */
const CLIENT = 'sigma-embed-client-id-0001';
const SECRET = 'sigma-embed-secret-0123456789abcdef0123456789abcdef';
const ORG = 'acme-analytics';
const APP = 'https://host-app.example.com';
const WB = 'Sales-Overview-1a2b3c4d';

describe('Sigma workbook links (GET /embed/:target/workbook/:workbook)', () => {
  let t: TestApp;
  let sigma: FakeSigma;
  let tenant: { id: string; slug: string };
  let user: { id: string; email: string };
  let cookie: string;

  const count = async (sql: string, params: unknown[] = []) => Number((await t.ds.query(sql, params))[0].n);
  const org = async (settings: object = {}, access: { attributes?: object; settings?: object; groupMappings?: Record<string, string[]> } | null = {}) => {
    const target = await makeTarget(t, { kind: 'sigma', baseUrl: sigma.url, secret: SECRET, settings: { clientId: CLIENT, organization: ORG, allowedOrigins: [APP], ...settings } });
    if (access) await grantAccess(t.ds, tenant.id, target.id, access);
    return target;
  };
  const get = (path: string, c: string | null = cookie) => (c ? request(t.http).get(path).set('Cookie', c) : request(t.http).get(path));
  const tokensOf = (targetId: string) => count(`SELECT count(*) AS n FROM issued_tokens WHERE target_id = $1`, [targetId]);
  const open = async (url: string) => fetch(url);

  beforeAll(async () => {
    t = await createTestApp({ env: { SSO_SESSION_BURST: '100000', SSO_SESSION_RATE: '100000' } });
    sigma = await startFakeSigma({ clientId: CLIENT, secret: SECRET, organization: ORG, teams: ['Sigma Analysts'], accountTypes: ['Viewer'] });
    tenant = await makeTenant(t.ds, { attributes: { region: 'tenant-region', plan: 'gold' } });
    user = await makeUser(t.ds, tenant.id, { email: `ada-${Date.now()}@acme.example`, firstName: 'Ada', lastName: 'Lovelace', attributes: { region: 'user-region', secret_level: 9 }, groups: ['analysts'] });
    cookie = `eidp_session=${(await t.app.get(SessionsService).create({ id: user.id, tenantId: tenant.id }, { ip: null, userAgent: null })).token}`;
  });
  afterAll(async () => {
    await sigma.close();
    await t.close();
  });

  it('redirects to the workbook with :jwt and :embed=true, a token Sigma accepts, recorded first', async () => {
    const target = await org({}, { attributes: { region: 'access-region' }, groupMappings: { analysts: ['Sigma Analysts'] }, settings: { userAttributes: ['region', 'plan'], accountType: 'Viewer' } });
    const res = await get(`/embed/${target.slug}/workbook/${WB}`).expect(302);
    const url = new URL(res.headers.location);
    expect(`${url.origin}${url.pathname}`).toBe(`${sigma.url}/${ORG}/workbook/${WB}`);
    expect(url.searchParams.get(':embed')).toBe('true');
    expect((await open(res.headers.location)).status).toBe(200);
    const seen = sigma.embeds[sigma.embeds.length - 1];
    expect(seen.header).toMatchObject({ alg: 'HS256', kid: CLIENT });
    expect(seen.claims).toEqual({
      sub: user.email, jti: expect.any(String), iat: expect.any(Number), exp: expect.any(Number), ver: '1.1',
      first_name: 'Ada', last_name: 'Lovelace',
      // Only what the access lists, access > user > tenant, as text; secret_level is not listed.
      user_attributes: { region: 'access-region', plan: 'gold' },
      teams: ['Sigma Analysts'], account_type: 'Viewer',
    });
    expect((seen.claims.exp as number) - (seen.claims.iat as number)).toBe(300);
    expect(await count(`SELECT count(*) AS n FROM issued_tokens WHERE jti = $1`, [seen.claims.jti])).toBe(1);
    expect(await count(`SELECT count(*) AS n FROM audit_events WHERE type = 'token.issued' AND details->>'jti' = $1 AND details->>'path' = $2`, [seen.claims.jti, WB])).toBe(1);
  });

  it('?response=json answers {url, expiresAt}, with credentialed CORS for an allowed origin; each request a new token', async () => {
    const target = await org();
    const a = await get(`/embed/${target.slug}/workbook/${WB}?response=json`).set('Origin', APP).expect(200);
    const b = await get(`/embed/${target.slug}/workbook/${WB}?response=json`).expect(200);
    expect(a.headers['access-control-allow-origin']).toBe(APP);
    expect(Object.keys(a.body).sort()).toEqual(['expiresAt', 'url']);
    expect(a.body.url).not.toBe(b.body.url);
    const token = new URL(a.body.url).searchParams.get(':jwt')!;
    expect(new Date(a.body.expiresAt).getTime() / 1000).toBe((jwt.decode(token) as { exp: number }).exp);
    // No teams claim when nothing maps, no user_attributes when none is listed.
    expect(jwt.decode(token)).not.toHaveProperty('teams');
    expect(jwt.decode(token)).not.toHaveProperty('user_attributes');
    expect((await open(a.body.url)).status).toBe(200);
    await get(`/embed/${target.slug}/workbook/${WB}?response=json`).set('Origin', 'https://evil.example').expect(403);
    expect(await tokensOf(target.id)).toBe(2);
  });

  describe('refusals: audited, nothing recorded', () => {
    it('no session: to the login page (a browser), or 401 (JSON)', async () => {
      const target = await org();
      const res = await get(`/embed/${target.slug}/workbook/${WB}`, null).expect(302);
      expect(res.headers.location).toBe(`/login?next=${encodeURIComponent(`/embed/${target.slug}/workbook/${WB}`)}`);
      expect((await get(`/embed/${target.slug}/workbook/${WB}?response=json`, null).expect(401)).body.error).toBe('no_session');
      expect(await tokensOf(target.id)).toBe(0);
    });

    it('no access: 403; unknown target: 404; disabled: 403', async () => {
      const noAccess = await org({}, null);
      expect((await get(`/embed/${noAccess.slug}/workbook/${WB}?response=json`).expect(403)).body.error).toBe('no_access');
      expect((await get(`/embed/no-such-target/workbook/${WB}?response=json`).expect(404)).body.error).toBe('target_not_found');
      const off = await org();
      await t.ds.query(`UPDATE targets SET disabled = true WHERE id = $1`, [off.id]);
      expect((await get(`/embed/${off.slug}/workbook/${WB}?response=json`).expect(403)).body.error).toBe('target_disabled');
      expect((await tokensOf(noAccess.id)) + (await tokensOf(off.id))).toBe(0);
      expect(await count(`SELECT count(*) AS n FROM audit_events WHERE type = 'token.denied' AND details->>'target' = $1 AND details->>'reason' = 'no_access'`, [noAccess.slug])).toBe(1);
    });

    it('another resource kind or a malformed workbook: 400, before anything is signed', async () => {
      const target = await org();
      expect((await get(`/embed/${target.slug}/dashboard/${WB}?response=json`).expect(400)).body.error).toBe('invalid_embed_kind');
      expect((await get(`/embed/${target.slug}/workbook/${encodeURIComponent('a b')}?response=json`).expect(400)).body.error).toBe('invalid_id');
      expect(await tokensOf(target.id)).toBe(0);
    });

    it('a Sigma target has no JSON token endpoint', async () => {
      const target = await org();
      expect((await get(`/embed/${target.slug}/token`).expect(400)).body.error).toBe('token_not_supported');
    });
  });
});
