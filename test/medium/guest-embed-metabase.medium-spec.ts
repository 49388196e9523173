import { decodeProtectedHeader, jwtVerify } from 'jose';
import request from 'supertest';
import { SessionsService } from '../../src/auth/sessions.service';
import { grantAccess, makeTarget, makeTenant, makeUser } from '../factories';
import { FakeMetabase, startFakeMetabase } from '../fakes/metabase';
import { createTestApp, TestApp } from '../setup/app';

/**
 * Metabase guest embeds: embed.js calls the host page's `guestEmbedProviderUri` —
 * POST `?response=json` with cookies and `{entityType, entityId, customContext?}` (Metabase's
 * embed.js and its tests) — and expects `{jwt}`: today's signed-embed token, for an entity
 * the tenant's access lists.
 */
const SECRET = 'mb-guest-sso-secret-0123456789abcdef0123';
const EMBED_SECRET = 'mb-guest-embedding-key-0123456789abcdef';
const APP = 'https://host-app.example.com';
/** Metabase entity IDs (Pro/Enterprise): 21 characters [A-Za-z0-9_-]. */
const EID = 'yqcdnPAMZvo3Dw0Snx_6-';
const OTHER_EID = 'Zqcdn-AMZvo3Dw0Snx_6-';

describe('Metabase guest-embed tokens (POST /embed/:target/guest-token)', () => {
  let t: TestApp;
  let mb: FakeMetabase;
  let target: { id: string; slug: string };
  let tenant: { id: string };
  let user: { id: string };
  let cookie: string;

  const count = async (sql: string, params: unknown[] = []) => Number((await t.ds.query(sql, params))[0].n);
  const guest = (body: unknown, slug = target.slug) =>
    request(t.http).post(`/embed/${slug}/guest-token?response=json`).set('Cookie', cookie).set('Origin', APP).send(body as object);

  beforeAll(async () => {
    t = await createTestApp();
    mb = await startFakeMetabase({
      jwtSecret: SECRET,
      embeddingSecret: EMBED_SECRET,
      embedParams: { 'dashboard/7': ['region'] },
      entityIds: { [`dashboard/${EID}`]: 7, [`dashboard/${OTHER_EID}`]: 8 },
    });
    tenant = await makeTenant(t.ds, { attributes: { region: 'tenant-wide' } });
    user = await makeUser(t.ds, tenant.id, { attributes: { region: 'emea' } });
    target = await makeTarget(t, { kind: 'metabase', baseUrl: mb.url, secret: SECRET, embeddingSecret: EMBED_SECRET, settings: { allowedOrigins: [APP] } });
    await grantAccess(t.ds, tenant.id, target.id, {
      settings: { lockedParams: { region: 'region' }, embeddableDashboards: ['7', EID], embeddableQuestions: ['12'] },
    });
    cookie = `eidp_session=${(await t.app.get(SessionsService).create({ id: user.id, tenantId: tenant.id }, { ip: null, userAgent: null })).token}`;
  });
  afterAll(async () => {
    await mb.close();
    await t.close();
  });

  it('answers {jwt} Metabase accepts: the signed-embed payload, locked params bound to the user, short exp', async () => {
    const res = await guest({ entityType: 'dashboard', entityId: 7, customContext: 'ignored' }).expect(200);
    expect(res.headers['access-control-allow-origin']).toBe(APP);
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(Object.keys(res.body)).toEqual(['jwt']);
    expect(decodeProtectedHeader(res.body.jwt).alg).toBe('HS256');
    const { payload } = await jwtVerify(res.body.jwt, new TextEncoder().encode(EMBED_SECRET), { algorithms: ['HS256'] });
    expect(payload).toEqual({ resource: { dashboard: 7 }, params: { region: 'emea' }, exp: expect.any(Number) });
    expect((payload.exp as number) - Date.now() / 1000).toBeLessThanOrEqual(61);
    // The fake Metabase loads it.
    expect((await fetch(`${mb.url}/embed/dashboard/${res.body.jwt}`)).status).toBe(200);
    const [ev] = await t.ds.query(`SELECT details FROM audit_events WHERE type = 'embed.issued' ORDER BY id DESC LIMIT 1`);
    expect(ev.details).toMatchObject({ target: target.slug, resource: 'dashboard', id: 7, flow: 'guest', userId: user.id });
  });

  it('takes the id as a string too (a question on the list)', async () => {
    const res = await guest({ entityType: 'question', entityId: '12' }).expect(200);
    const { payload } = await jwtVerify(res.body.jwt, new TextEncoder().encode(EMBED_SECRET));
    expect(payload.resource).toEqual({ question: 12 });
  });

  it('signs a listed entity ID as the string embed.js sent, which Metabase accepts', async () => {
    const res = await guest({ entityType: 'dashboard', entityId: EID }).expect(200);
    const { payload } = await jwtVerify(res.body.jwt, new TextEncoder().encode(EMBED_SECRET), { algorithms: ['HS256'] });
    expect(payload).toEqual({ resource: { dashboard: EID }, params: { region: 'emea' }, exp: expect.any(Number) });
    expect((await fetch(`${mb.url}/embed/dashboard/${res.body.jwt}`)).status).toBe(200);
    expect(mb.embeds[mb.embeds.length - 1]).toMatchObject({ id: 7, entityId: EID });
    const [ev] = await t.ds.query(`SELECT details FROM audit_events WHERE type = 'embed.issued' ORDER BY id DESC LIMIT 1`);
    expect(ev.details).toMatchObject({ resource: 'dashboard', id: EID, flow: 'guest' });
  });

  it('refuses an entity the access does not list: 403, audited, nothing recorded', async () => {
    const before = await count(`SELECT count(*) AS n FROM issued_tokens WHERE target_id = $1`, [target.id]);
    for (const body of [{ entityType: 'dashboard', entityId: 8 }, { entityType: 'question', entityId: 7 }]) {
      const res = await guest(body).expect(403);
      expect(res.body.error).toBe('entity_not_allowed');
    }
    expect(await count(`SELECT count(*) AS n FROM issued_tokens WHERE target_id = $1`, [target.id])).toBe(before);
    expect(await count(`SELECT count(*) AS n FROM audit_events WHERE type = 'embed.denied' AND details->>'reason' = 'entity_not_allowed' AND details->>'target' = $1`, [target.slug])).toBe(2);
  });

  it('refuses an entity ID the access does not list (another one, another case, the other kind): 403, audited, nothing recorded', async () => {
    const before = await count(`SELECT count(*) AS n FROM issued_tokens WHERE target_id = $1`, [target.id]);
    const denied = async () => count(`SELECT count(*) AS n FROM audit_events WHERE type = 'embed.denied' AND details->>'reason' = 'entity_not_allowed' AND details->>'target' = $1`, [target.slug]);
    const deniedBefore = await denied();
    for (const body of [
      { entityType: 'dashboard', entityId: OTHER_EID },
      { entityType: 'dashboard', entityId: EID.toUpperCase() },
      { entityType: 'question', entityId: EID },
    ]) {
      const res = await guest(body).expect(403);
      expect(res.body.error).toBe('entity_not_allowed');
    }
    expect(await count(`SELECT count(*) AS n FROM issued_tokens WHERE target_id = $1`, [target.id])).toBe(before);
    expect(await denied()).toBe(deniedBefore + 3);
  });

  it.each([
    [[], /JSON object/],
    [{ entityType: 'collection', entityId: 1 }, /entityType must be one of dashboard, question/],
    [{ entityType: 'dashboard' }, /entityId must be a positive whole number/],
    [{ entityType: 'dashboard', entityId: 0 }, /entityId/],
    [{ entityType: 'dashboard', entityId: '1e3' }, /entityId/],
    [{ entityType: 'dashboard', entityId: 7, extra: 1 }, /extra is not a known field/],
    [{ entityType: 'dashboard', entityId: EID.slice(1) }, /entityId must be a positive whole number or a 21-character entity ID/],
    [{ entityType: 'dashboard', entityId: `${EID}x` }, /21-character entity ID/],
    [{ entityType: 'dashboard', entityId: `${EID.slice(1)}.` }, /21-character entity ID/],
    [{ entityType: 'dashboard', entityId: 7.5 }, /entityId/],
    [{ entityType: 'dashboard', entityId: [EID] }, /entityId/],
  ])('refuses a malformed body %j: 400 naming the field, audited', async (body, message) => {
    const res = await guest(body).expect(400);
    expect(res.body.error).toBe('invalid_body');
    expect(res.body.message).toMatch(message);
  });

  it('without a session: JSON 401; from another origin: 403 before anything is minted; preflight allows POST', async () => {
    const anon = await request(t.http).post(`/embed/${target.slug}/guest-token?response=json`).set('Origin', APP).send({ entityType: 'dashboard', entityId: 7 }).expect(401);
    expect(anon.body.error).toBe('no_session');
    const before = await count(`SELECT count(*) AS n FROM issued_tokens WHERE target_id = $1`, [target.id]);
    await request(t.http).post(`/embed/${target.slug}/guest-token`).set('Cookie', cookie).set('Origin', 'https://evil.example').send({ entityType: 'dashboard', entityId: 7 }).expect(403);
    expect(await count(`SELECT count(*) AS n FROM issued_tokens WHERE target_id = $1`, [target.id])).toBe(before);
    const pre = await request(t.http).options(`/embed/${target.slug}/guest-token`).set('Origin', APP).set('Access-Control-Request-Method', 'POST').expect(204);
    expect(pre.headers['access-control-allow-methods']).toBe('POST, OPTIONS');
    expect(pre.headers['access-control-allow-headers']).toMatch(/Content-Type/);
  });

  it('a product without guest embeds: 400 naming it, audited', async () => {
    const sis = await makeTarget(t, { kind: 'sisense', baseUrl: 'https://sisense.example.com', secret: 'sisense-secret-0123456789abcdef0123', settings: { allowedOrigins: [APP] } });
    await grantAccess(t.ds, tenant.id, sis.id);
    const res = await guest({ entityType: 'dashboard', entityId: 7 }, sis.slug).expect(400);
    expect(res.body.error).toBe('guest_embed_not_supported');
    expect(await count(`SELECT count(*) AS n FROM audit_events WHERE type = 'embed.denied' AND details->>'target' = $1`, [sis.slug])).toBe(1);
  });
});
