import request from 'supertest';
import { SessionsService } from '../../src/auth/sessions.service';
import { grantAccess, makeApiKey, makeTenant, makeUser } from '../factories';
import { FakeLooker, startFakeLooker } from '../fakes/looker';
import { createTestApp, TestApp } from '../setup/app';

/**
 * GET /embed/<target>/looker/<path>: Looker's signed embed URL. Every URL is opened on the
 * fake Looker, which recomputes the HMAC-SHA1 signature by its own reading of Looker's docs;
 * every nonce is recorded (as the jti) and audited before the URL leaves; refusals audited,
 * none leaving a record.
 */
const SECRET = 'looker-embed-secret-0123456789abcdef0123456789abcdef';
const APP = 'https://host-app.example.com';
const SETTINGS = { models: ['thelook'], permissions: ['access_data', 'see_user_dashboards', 'see_looks'], allowedOrigins: [APP] };

describe('Looker signed embed URLs (GET /embed/:target/looker/*path)', () => {
  let t: TestApp;
  let looker: FakeLooker;
  let key: string;
  let tenant: { id: string; slug: string };
  let user: { id: string; email: string };
  let cookie: string;

  const count = async (sql: string, params: unknown[] = []) => Number((await t.ds.query(sql, params))[0].n);
  const sessionOf = async (u: { id: string }, tenantId: string) =>
    `eidp_session=${(await t.app.get(SessionsService).create({ id: u.id, tenantId }, { ip: null, userAgent: null })).token}`;
  let n = 0;
  const instance = async (settings: object = {}, access: { attributes?: object; settings?: object; groupMappings?: Record<string, string[]> } | null = {}) => {
    const res = await request(t.http)
      .post('/api/v1/targets')
      .set('Authorization', `Bearer ${key}`)
      .send({ slug: `looker-${++n}-${Date.now()}`, kind: 'looker', baseUrl: looker.url, secrets: { embedSecret: SECRET }, settings: { ...SETTINGS, ...settings } })
      .expect(201);
    const target = res.body as { id: string; slug: string };
    if (access) await grantAccess(t.ds, tenant.id, target.id, access);
    return target;
  };
  const get = (path: string, c: string | null = cookie) => (c ? request(t.http).get(path).set('Cookie', c) : request(t.http).get(path));
  const tokensOf = (targetId: string) => count(`SELECT count(*) AS n FROM issued_tokens WHERE target_id = $1`, [targetId]);
  const paramsOf = (url: string): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of new URL(url).searchParams) out[k] = k === 'signature' ? v : JSON.parse(v);
    return out;
  };
  const urlOf = async (slug: string, path = 'dashboards/7', c: string | null = cookie) => (await get(`/embed/${slug}/looker/${path}?response=json`, c).expect(200)).body.url as string;

  beforeAll(async () => {
    t = await createTestApp({ env: { SSO_SESSION_BURST: '100000', SSO_SESSION_RATE: '100000' } });
    looker = await startFakeLooker({ secret: SECRET, models: ['thelook'] });
    key = await makeApiKey(t.ds, null);
    tenant = await makeTenant(t.ds, { attributes: { customer_id: 'tenant-customer', plan: 'gold' } });
    user = await makeUser(t.ds, tenant.id, { email: `ada-${Date.now()}@acme.example`, firstName: 'Ada', lastName: 'Lovelace', attributes: { customer_id: 'user-customer', secret_level: 9 }, groups: ['analysts'] });
    cookie = await sessionOf(user, tenant.id);
  });
  afterAll(async () => {
    await looker.close();
    await t.close();
  });

  it('redirects to /login/embed/<embed URL> signed as Looker checks it; the nonce recorded and audited first', async () => {
    const target = await instance({ sessionLengthSeconds: 900 }, { attributes: { customer_id: 'access-customer' }, groupMappings: { analysts: ['4', '9'] }, settings: { userAttributes: ['customer_id', 'plan'] } });
    const res = await get(`/embed/${target.slug}/looker/dashboards/7`).expect(302);
    const url = new URL(res.headers.location);
    expect(`${url.origin}${url.pathname}`).toBe(`${looker.url}/login/embed/${encodeURIComponent('/embed/dashboards/7')}`);
    const opened = await fetch(res.headers.location);
    expect(opened.status).toBe(200);
    const seen = looker.embeds[looker.embeds.length - 1];
    expect(seen.embedUrl).toBe('/embed/dashboards/7');
    expect(seen.params).toEqual({
      nonce: expect.any(String), time: expect.any(Number), session_length: 900,
      external_user_id: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/),
      permissions: SETTINGS.permissions, models: ['thelook'],
      group_ids: [4, 9], external_group_id: tenant.id,
      // Only what the access lists, access > user > tenant, as text; secret_level is not listed.
      user_attributes: { customer_id: 'access-customer', plan: 'gold' },
      access_filters: {}, first_name: 'Ada', last_name: 'Lovelace', force_logout_login: true,
    });
    expect(Math.abs((seen.params.time as number) - Date.now() / 1000)).toBeLessThan(5);
    const nonce = seen.params.nonce as string;
    expect(await count(`SELECT count(*) AS n FROM issued_tokens WHERE jti = $1 AND target_id = $2`, [nonce, target.id])).toBe(1);
    expect(await count(`SELECT count(*) AS n FROM audit_events WHERE type = 'token.issued' AND details->>'jti' = $1 AND details->>'path' = 'dashboards/7'`, [nonce])).toBe(1);
    // The URL is spent: Looker refuses its nonce a second time.
    expect((await fetch(res.headers.location)).status).toBe(401);
    expect(looker.rejections[looker.rejections.length - 1]).toBe('nonce already used');
  });

  it('?response=json answers {url, expiresAt}; the embed-sdk\'s src carries embed_domain and sdk; credentialed CORS for an allowed origin', async () => {
    const target = await instance();
    const src = `/embed/looks/3?embed_domain=${APP}&sdk=3`;
    const a = await get(`/embed/${target.slug}/looker/looks/3?src=${encodeURIComponent(src)}&response=json`).set('Origin', APP).expect(200);
    expect(a.headers['access-control-allow-origin']).toBe(APP);
    expect(Object.keys(a.body).sort()).toEqual(['expiresAt', 'url']);
    expect(new Date(a.body.expiresAt).getTime() / 1000).toBe((paramsOf(a.body.url).time as number) + 3600);
    expect((await fetch(a.body.url)).status).toBe(200);
    expect(looker.embeds[looker.embeds.length - 1].embedUrl).toBe(src);
    // An explore, with embed_domain given directly.
    const b = await get(`/embed/${target.slug}/looker/explore/thelook/orders?embed_domain=${encodeURIComponent(APP)}&response=json`).expect(200);
    expect((await fetch(b.body.url)).status).toBe(200);
    expect(looker.embeds[looker.embeds.length - 1].embedUrl).toBe(`/embed/explore/thelook/orders?embed_domain=${APP}`);
    // A LookML dashboard.
    expect((await fetch(await urlOf(target.slug, 'dashboards/thelook::business_pulse'))).status).toBe(200);
    await get(`/embed/${target.slug}/looker/dashboards/7?response=json`).set('Origin', 'https://evil.example').expect(403);
    expect(await tokensOf(target.id)).toBe(3);
  });

  it('answers the embed-sdk\'s preflight (it sends Cache-Control) for an allowed origin only', async () => {
    const target = await instance();
    const pre = await request(t.http).options(`/embed/${target.slug}/looker/dashboards/7`).set('Origin', APP).set('Access-Control-Request-Method', 'GET').set('Access-Control-Request-Headers', 'cache-control').expect(204);
    expect(pre.headers['access-control-allow-origin']).toBe(APP);
    expect(pre.headers['access-control-allow-headers']).toMatch(/Cache-Control/);
    await request(t.http).options(`/embed/${target.slug}/looker/explore/thelook/orders`).set('Origin', 'https://evil.example').set('Access-Control-Request-Method', 'GET').expect(403);
  });

  it('each URL has its own nonce, recorded once (the ledger refuses a second row with one jti)', async () => {
    const target = await instance();
    const urls = await Promise.all(Array.from({ length: 6 }, () => urlOf(target.slug)));
    const nonces = urls.map((u) => paramsOf(u).nonce as string);
    expect(new Set(nonces).size).toBe(6);
    expect(await count(`SELECT count(DISTINCT jti) AS n FROM issued_tokens WHERE target_id = $1 AND jti = ANY($2)`, [target.id, nonces])).toBe(6);
    const [row] = await t.ds.query(`SELECT * FROM issued_tokens WHERE jti = $1`, [nonces[0]]);
    const cols = Object.keys(row).filter((c) => row[c] !== null && !['id'].includes(c));
    await expect(t.ds.query(`INSERT INTO issued_tokens (${cols.join(', ')}) SELECT ${cols.join(', ')} FROM issued_tokens WHERE jti = $1`, [nonces[0]])).rejects.toThrow(/duplicate key/);
  });

  it('external_user_id: the same for a user on one target, another on another target or for another user, never the email', async () => {
    const one = await instance();
    const two = await instance();
    const other = await makeUser(t.ds, tenant.id, { email: `grace-${Date.now()}@acme.example`, firstName: 'Grace' });
    const otherCookie = await sessionOf(other, tenant.id);
    const idOf = async (slug: string, c = cookie) => paramsOf(await urlOf(slug, 'dashboards/7', c)).external_user_id as string;
    const a1 = await idOf(one.slug);
    expect(await idOf(one.slug)).toBe(a1);
    expect(await idOf(two.slug)).not.toBe(a1);
    expect(await idOf(one.slug, otherCookie)).not.toBe(a1);
    for (const who of [user, other]) {
      const url = await urlOf(one.slug, 'dashboards/7', who === user ? cookie : otherCookie);
      const localPart = who.email.split('@')[0];
      expect(decodeURIComponent(url)).not.toContain(who.email);
      expect(decodeURIComponent(url)).not.toContain(localPart);
      expect(decodeURIComponent(url)).not.toContain(who.id);
    }
  });

  it('tenant boundary: another tenant without access is refused (audited, nothing recorded); with its own access it gets its own group and users', async () => {
    const target = await instance();
    const other = await makeTenant(t.ds, { attributes: { customer_id: 'other-customer' } });
    const bob = await makeUser(t.ds, other.id, { email: `bob-${Date.now()}@other.example`, groups: ['analysts'] });
    const bobCookie = await sessionOf(bob, other.id);
    expect((await get(`/embed/${target.slug}/looker/dashboards/7?response=json`, bobCookie).expect(403)).body.error).toBe('no_access');
    expect(await count(`SELECT count(*) AS n FROM issued_tokens WHERE target_id = $1 AND tenant_id = $2`, [target.id, other.id])).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM audit_events WHERE type = 'token.denied' AND tenant_id = $1 AND details->>'reason' = 'no_access' AND details->>'target' = $2`, [other.id, target.slug])).toBe(1);
    await grantAccess(t.ds, other.id, target.id, { settings: { userAttributes: ['customer_id'] } });
    const bobs = paramsOf(await urlOf(target.slug, 'dashboards/7', bobCookie));
    const adas = paramsOf(await urlOf(target.slug));
    expect(bobs.external_group_id).toBe(other.id);
    expect(adas.external_group_id).toBe(tenant.id);
    expect(bobs.user_attributes).toEqual({ customer_id: 'other-customer' });
    // Bob's group mapping is his tenant's access's, not Ada's: nothing maps, no group.
    expect(bobs.group_ids).toEqual([]);
  });

  describe('refusals: a clear 4xx, audited, nothing recorded', () => {
    it('a path Looker content does not have: 400 naming the forms, before anything is signed', async () => {
      const target = await instance();
      for (const path of ['admin/users', 'dashboards/abc', 'looks/0', 'explore/thelook', 'dashboards/7/edit', 'browse']) {
        const res = await get(`/embed/${target.slug}/looker/${path}?response=json`).expect(400);
        expect(res.body.error).toBe('invalid_id');
        expect(res.body.message).toMatch(/dashboards\/<id>, looks\/<id> or explore\/<model>\/<view>/);
      }
      expect((await get(`/embed/${target.slug}/workbook/x?response=json`).expect(400)).body.error).toBe('invalid_embed_kind');
      expect(await tokensOf(target.id)).toBe(0);
      expect(await count(`SELECT count(*) AS n FROM audit_events WHERE type = 'token.denied' AND details->>'target' = $1 AND details->>'reason' = 'invalid_id'`, [target.slug])).toBe(6);
    });

    it('an embed_domain not among the allowed origins, a src for another path, a parameter not passed on: 400', async () => {
      const target = await instance();
      const deny = async (query: string, code: string) => {
        const res = await get(`/embed/${target.slug}/looker/dashboards/7?${query}&response=json`).expect(400);
        expect(res.body.error).toBe(code);
      };
      await deny(`embed_domain=${encodeURIComponent('https://evil.example')}`, 'embed_domain_not_allowed');
      await deny(`src=${encodeURIComponent('/embed/dashboards/7?embed_domain=https://evil.example&sdk=3')}`, 'embed_domain_not_allowed');
      await deny(`src=${encodeURIComponent('/embed/dashboards/8?sdk=3')}`, 'invalid_embed_param');
      await deny(`src=${encodeURIComponent('https://evil.example/embed/dashboards/7')}`, 'invalid_embed_param');
      await deny(`src=${encodeURIComponent('/embed/dashboards/7?allow_login_screen=true')}`, 'invalid_embed_param');
      await deny('theme=a%20b', 'invalid_embed_param');
      expect(await tokensOf(target.id)).toBe(0);
      expect(await count(`SELECT count(*) AS n FROM audit_events WHERE type = 'token.denied' AND details->>'target' = $1 AND details->>'reason' IN ('embed_domain_not_allowed', 'invalid_embed_param')`, [target.slug])).toBe(6);
    });

    it('a group mapped to something that is not a Looker group id: 409, audited', async () => {
      const target = await instance({}, { groupMappings: { analysts: ['Analysts'] } });
      const res = await get(`/embed/${target.slug}/looker/dashboards/7?response=json`).expect(409);
      expect(res.body.error).toBe('looker_group_id_invalid');
      expect(await tokensOf(target.id)).toBe(0);
      expect(await count(`SELECT count(*) AS n FROM audit_events WHERE type = 'token.denied' AND details->>'target' = $1 AND details->>'reason' = 'looker_group_id_invalid'`, [target.slug])).toBe(1);
    });

    it('no session: to the login page and back (embed_domain kept), or 401 (JSON)', async () => {
      const target = await instance();
      const res = await get(`/embed/${target.slug}/looker/explore/thelook/orders?embed_domain=${encodeURIComponent(APP)}`, null).expect(302);
      expect(res.headers.location).toBe(`/login?next=${encodeURIComponent(`/embed/${target.slug}/looker/explore/thelook/orders?embed_domain=${encodeURIComponent(APP)}`)}`);
      expect((await get(`/embed/${target.slug}/looker/dashboards/7?response=json`, null).expect(401)).body.error).toBe('no_session');
      expect(await tokensOf(target.id)).toBe(0);
    });

    it('settings: permissions only Looker\'s, at least one model and permission, a session of at most 30 days', async () => {
      const create = (settings: object) =>
        request(t.http).post('/api/v1/targets').set('Authorization', `Bearer ${key}`).send({ slug: `looker-bad-${++n}`, kind: 'looker', baseUrl: looker.url, secrets: { embedSecret: SECRET }, settings: { ...SETTINGS, ...settings } });
      expect(JSON.stringify((await create({ permissions: ['access_data', 'be_admin'] }).expect(400)).body)).toMatch(/permissions/);
      expect(JSON.stringify((await create({ permissions: [] }).expect(400)).body)).toMatch(/at least one Looker permission/);
      expect(JSON.stringify((await create({ models: [] }).expect(400)).body)).toMatch(/at least one LookML model/);
      expect(JSON.stringify((await create({ sessionLengthSeconds: 30 * 24 * 3600 + 1 }).expect(400)).body)).toMatch(/sessionLengthSeconds/);
      expect(JSON.stringify((await create({ models: ['the look'] }).expect(400)).body)).toMatch(/models/);
      const weak = await request(t.http).post('/api/v1/targets').set('Authorization', `Bearer ${key}`).send({ slug: `looker-weak-${++n}`, kind: 'looker', baseUrl: looker.url, secrets: { embedSecret: 'short' }, settings: SETTINGS });
      expect(weak.status).toBe(400);
    });

    it('a target without its embed secret: refused by the API; one that lost it: 409, nothing recorded', async () => {
      const res = await request(t.http).post('/api/v1/targets').set('Authorization', `Bearer ${key}`).send({ slug: `looker-nosecret-${++n}`, kind: 'looker', baseUrl: looker.url, settings: SETTINGS }).expect(400);
      expect(JSON.stringify(res.body)).toMatch(/secrets\.embedSecret is required/);
      const target = await instance();
      await t.ds.query(`UPDATE targets SET secrets = '{}' WHERE id = $1`, [target.id]);
      expect((await get(`/embed/${target.slug}/looker/dashboards/7?response=json`).expect(409)).body.error).toBe('target_embed_secret_missing');
      expect(await tokensOf(target.id)).toBe(0);
    });
  });
});
