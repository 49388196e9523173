import { decodeProtectedHeader, jwtVerify } from 'jose';
import request from 'supertest';
import { SessionsService } from '../../src/auth/sessions.service';
import { grantAccess, makeTarget, makeTenant, makeUser } from '../factories';
import { FakeMetabase, startFakeMetabase } from '../fakes/metabase';
import { createTestApp, TestApp } from '../setup/app';

/**
 * Metabase signed ("static") embeds: GET /embed/<target>/<dashboard|question>/<id> for the
 * signed-in user, signed with the embedding secret, locked params bound to the user.
 */
const SECRET = 'mb-embed-sso-secret-0123456789abcdef';
const EMBED_SECRET = 'mb-embedding-secret-key-0123456789abcdef';
const APP = 'https://app.example.com';
/** A Metabase entity ID (Pro/Enterprise): 21 characters [A-Za-z0-9_-]. */
const EID = 'yqcdnPAMZvo3Dw0Snx_6-';

describe('Metabase signed embeds (GET /embed/:target/:kind/:id)', () => {
  let t: TestApp;
  let mb: FakeMetabase;
  let target: { id: string; slug: string };
  let tenant: { id: string; slug: string };
  let user: { id: string };
  let cookie: string;

  const sessionCookie = async (u: { id: string }, tenantId: string) =>
    `eidp_session=${(await t.app.get(SessionsService).create({ id: u.id, tenantId }, { ip: null, userAgent: null })).token}`;

  beforeAll(async () => {
    t = await createTestApp();
    mb = await startFakeMetabase({
      jwtSecret: SECRET,
      embeddingSecret: EMBED_SECRET,
      embedParams: { 'dashboard/7': ['region', 'plan'] },
      entityIds: { [`dashboard/${EID}`]: 7 },
    });
    tenant = await makeTenant(t.ds, { attributes: { plan: 'gold', region: 'tenant-wide' } });
    user = await makeUser(t.ds, tenant.id, { attributes: { region: 'emea' } });
    target = await makeTarget(t, {
      kind: 'metabase',
      baseUrl: mb.url,
      secret: SECRET,
      embeddingSecret: EMBED_SECRET,
      settings: { allowedOrigins: [APP] },
    });
    await grantAccess(t.ds, tenant.id, target.id, { settings: { lockedParams: { region: 'region', plan: 'plan' } } });
    cookie = await sessionCookie(user, tenant.id);
  });
  afterAll(async () => {
    await mb.close();
    await t.close();
  });

  const count = async (sql: string, params: unknown[] = []) => Number((await t.ds.query(sql, params))[0].n);

  it('redirects to the iframe URL whose token Metabase accepts, params locked to the user (then the tenant)', async () => {
    const res = await request(t.http).get(`/embed/${target.slug}/dashboard/7`).set('Cookie', cookie).set('Accept', 'text/html').expect(302);
    expect(res.headers['cache-control']).toBe('no-store');
    const url = new URL(res.headers.location);
    expect(url.hash).toBe('#bordered=true&titled=true');
    expect(url.pathname).toMatch(/^\/embed\/dashboard\/[^/]+$/);
    const token = url.pathname.split('/')[3];

    // Independently verified: HS256 with the alg header, the embedding secret, exactly these keys.
    expect(decodeProtectedHeader(token).alg).toBe('HS256');
    const { payload } = await jwtVerify(token, new TextEncoder().encode(EMBED_SECRET), { algorithms: ['HS256'] });
    expect(payload).toEqual({ resource: { dashboard: 7 }, params: { region: 'emea', plan: 'gold' }, exp: expect.any(Number) });
    const ttl = (payload.exp as number) - Date.now() / 1000;
    expect(ttl).toBeGreaterThan(30);
    expect(ttl).toBeLessThanOrEqual(61);

    // The fake Metabase loads it (the fragment is the browser's, not sent).
    const page = await fetch(`${url.origin}${url.pathname}`);
    expect(page.status).toBe(200);
    expect(mb.embeds[mb.embeds.length - 1]).toMatchObject({ kind: 'dashboard', id: 7, params: { region: 'emea', plan: 'gold' } });
  });

  it('answers {url, expiresAt} with response=json (with CORS for an allowed origin), recorded and audited', async () => {
    const before = await count(`SELECT count(*) AS n FROM issued_tokens`);
    const res = await request(t.http).get(`/embed/${target.slug}/question/12?response=json`).set('Origin', APP).set('Cookie', cookie).expect(200);
    expect(res.headers['access-control-allow-origin']).toBe(APP);
    expect(Object.keys(res.body).sort()).toEqual(['expiresAt', 'url']);
    expect(res.body.url).toMatch(new RegExp(`^${mb.url}/embed/question/[^#]+#bordered=true&titled=true$`));
    const token = new URL(res.body.url).pathname.split('/')[3];
    const { payload } = await jwtVerify(token, new TextEncoder().encode(EMBED_SECRET));
    expect(new Date(res.body.expiresAt).getTime()).toBe((payload.exp as number) * 1000);
    expect(payload.resource).toEqual({ question: 12 });
    expect(await count(`SELECT count(*) AS n FROM issued_tokens`)).toBe(before + 1);
    const [ev] = await t.ds.query(`SELECT tenant_id, details FROM audit_events WHERE type = 'embed.issued' ORDER BY id DESC LIMIT 1`);
    expect(ev.tenant_id).toBe(tenant.id);
    expect(ev.details).toMatchObject({ target: target.slug, resource: 'question', id: 12, userId: user.id });
    expect([...ev.details.params].sort()).toEqual(['plan', 'region']);
  });

  it('embeds by entity ID: signed as the same JSON string, which Metabase looks up; recorded and audited with it', async () => {
    const res = await request(t.http).get(`/embed/${target.slug}/dashboard/${EID}?response=json`).set('Origin', APP).set('Cookie', cookie).expect(200);
    const token = new URL(res.body.url).pathname.split('/')[3];
    const { payload } = await jwtVerify(token, new TextEncoder().encode(EMBED_SECRET), { algorithms: ['HS256'] });
    expect(payload).toEqual({ resource: { dashboard: EID }, params: { region: 'emea', plan: 'gold' }, exp: expect.any(Number) });
    expect((await fetch(`${mb.url}/embed/dashboard/${token}`)).status).toBe(200);
    expect(mb.embeds[mb.embeds.length - 1]).toMatchObject({ kind: 'dashboard', id: 7, entityId: EID });
    const [ev] = await t.ds.query(`SELECT details FROM audit_events WHERE type = 'embed.issued' ORDER BY id DESC LIMIT 1`);
    expect(ev.details).toMatchObject({ target: target.slug, resource: 'dashboard', id: EID });
  });

  it('sends a visitor without a session to login and back to the same entity ID', async () => {
    const page = await request(t.http).get(`/embed/${target.slug}/question/${EID}`).set('Accept', 'text/html').expect(302);
    expect(new URL(page.headers.location, 'http://x').searchParams.get('next')).toBe(`/embed/${target.slug}/question/${EID}`);
  });

  it.each([
    ['20 characters', EID.slice(1)],
    ['22 characters', `${EID}x`],
    ['a character outside [A-Za-z0-9_-]', `${EID.slice(1)}!`],
    ['a dot', `${EID.slice(1)}.`],
    ['an encoded space', `${EID.slice(2)}%20`],
  ])('refuses an entity ID of %s with a 400 that says what an id looks like; nothing recorded', async (_what, id) => {
    const before = await count(`SELECT count(*) AS n FROM issued_tokens`);
    const res = await request(t.http).get(`/embed/${target.slug}/dashboard/${id}?response=json`).set('Cookie', cookie).expect(400);
    expect(res.body.error).toBe('invalid_id');
    expect(res.body.message).toMatch(/must be a positive whole number or a 21-character entity ID/);
    expect(await count(`SELECT count(*) AS n FROM issued_tokens`)).toBe(before);
  });

  it('uses the target\'s embedTtlSeconds', async () => {
    const short = await makeTarget(t, { kind: 'metabase', baseUrl: mb.url, secret: SECRET, embeddingSecret: EMBED_SECRET, settings: { embedTtlSeconds: 20 } });
    await grantAccess(t.ds, tenant.id, short.id);
    const res = await request(t.http).get(`/embed/${short.slug}/question/1?response=json`).set('Cookie', cookie).expect(200);
    const { payload } = await jwtVerify(new URL(res.body.url).pathname.split('/')[3], new TextEncoder().encode(EMBED_SECRET));
    expect((payload.exp as number) - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(20);
    expect(payload.params).toEqual({});
  });

  it('refuses with 400 naming the locked parameter that has no value; audited, nothing recorded', async () => {
    const bare = await makeUser(t.ds, (await makeTenant(t.ds)).id);
    const bareTenant = (await t.ds.query(`SELECT tenant_id FROM users WHERE id = $1`, [bare.id]))[0].tenant_id;
    await grantAccess(t.ds, bareTenant, target.id, { settings: { lockedParams: { store: 'store_id' } } });
    const c = await sessionCookie(bare, bareTenant);
    const before = await count(`SELECT count(*) AS n FROM issued_tokens`);
    const res = await request(t.http).get(`/embed/${target.slug}/dashboard/7?response=json`).set('Cookie', c).expect(400);
    expect(res.body).toMatchObject({ error: 'locked_param_missing', details: { param: 'store', attribute: 'store_id' } });
    expect(res.body.message).toContain('store_id');
    expect(await count(`SELECT count(*) AS n FROM issued_tokens`)).toBe(before);
    expect(await count(`SELECT count(*) AS n FROM audit_events WHERE type = 'embed.denied' AND tenant_id = $1 AND details->>'reason' = 'locked_param_missing'`, [bareTenant])).toBe(1);
  });

  it.each([['0'], ['-1'], ['abc'], ['1.5'], ['1e3'], ['007'], ['99999999999999999999']])('refuses id %s with 400', async (id) => {
    const res = await request(t.http).get(`/embed/${target.slug}/dashboard/${id}?response=json`).set('Cookie', cookie).expect(400);
    expect(res.body.error).toBe('invalid_id');
  });

  it('refuses an unknown kind with 400 and an unknown target with 404', async () => {
    const kind = await request(t.http).get(`/embed/${target.slug}/collection/1?response=json`).set('Cookie', cookie).expect(400);
    expect(kind.body).toMatchObject({ error: 'invalid_embed_kind', details: { kinds: ['dashboard', 'question'] } });
    await request(t.http).get('/embed/nope/dashboard/1?response=json').set('Cookie', cookie).expect(404);
  });

  it('refuses a tenant without access (403) and a target without an embedding secret (409)', async () => {
    const other = await makeTenant(t.ds);
    const stranger = await makeUser(t.ds, other.id);
    const res = await request(t.http).get(`/embed/${target.slug}/dashboard/7?response=json`).set('Cookie', await sessionCookie(stranger, other.id)).expect(403);
    expect(res.body.error).toBe('no_access');
    const noKey = await makeTarget(t, { kind: 'metabase', baseUrl: mb.url, secret: SECRET });
    await grantAccess(t.ds, tenant.id, noKey.id);
    const missing = await request(t.http).get(`/embed/${noKey.slug}/question/1?response=json`).set('Cookie', cookie).expect(409);
    expect(missing.body.error).toBe('target_embedding_secret_missing');
  });

  it('sends a visitor without a session to login (HTML) or answers a JSON 401', async () => {
    const page = await request(t.http).get(`/embed/${target.slug}/dashboard/7`).set('Accept', 'text/html').expect(302);
    const login = new URL(page.headers.location, 'http://x');
    expect(login.pathname).toBe('/login');
    expect(login.searchParams.get('next')).toBe(`/embed/${target.slug}/dashboard/7`);
    const json = await request(t.http).get(`/embed/${target.slug}/dashboard/7?response=json`).expect(401);
    expect(json.body.error).toBe('no_session');
  });

  it('refuses a Sisense target: it has no signed embeds', async () => {
    const sis = await makeTarget(t, { kind: 'sisense', baseUrl: 'https://sisense.example.com', secret: SECRET });
    await grantAccess(t.ds, tenant.id, sis.id);
    const res = await request(t.http).get(`/embed/${sis.slug}/dashboard/1?response=json`).set('Cookie', cookie).expect(400);
    expect(res.body.error).toBe('embed_not_supported');
  });
});
