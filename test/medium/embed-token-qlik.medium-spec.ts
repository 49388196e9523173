import request from 'supertest';
import { SessionsService } from '../../src/auth/sessions.service';
import { grantAccess, makeApiKey, makeTenant, makeUser } from '../factories';
import { FakeQlik, startFakeQlik } from '../fakes/qlik';
import { createTestApp, TestApp } from '../setup/app';

/**
 * Qlik Cloud through GET /embed/<target>/token: the token (signed with the target's key pair,
 * kid and PEM as the operator pasted them into Qlik) is accepted by a fake Qlik verifying
 * with jsonwebtoken, recorded and audited before it left; refusals as for SSO.
 */
const ISSUER = 'https://idp.example.com';

describe('Qlik Cloud token (GET /embed/:target/token)', () => {
  let t: TestApp;
  let key: string;
  let qlik: FakeQlik;
  let target: { id: string; slug: string };
  let tenant: { id: string; slug: string };
  let user: { id: string; email: string };
  let cookie: string;

  beforeAll(async () => {
    t = await createTestApp();
    key = await makeApiKey(t.ds, null);
    qlik = await startFakeQlik({ issuer: ISSUER, staticKeys: [] });
    const created = await request(t.http).post('/api/v1/targets').set('Authorization', `Bearer ${key}`).send({ slug: 'qlik-e2e', kind: 'qlik', baseUrl: qlik.url, settings: { issuer: ISSUER, alg: 'ES256' } }).expect(201);
    target = { id: created.body.id, slug: 'qlik-e2e' };
    // The operator pastes the signing key's kid and PEM into Qlik (the console and the API show them).
    const keys = (await request(t.http).get(`/api/v1/targets/${target.slug}/keys`).set('Authorization', `Bearer ${key}`).expect(200)).body.items;
    // A new target has one key, the one to paste into Qlik.
    expect(keys).toHaveLength(1);
    qlik.setKey({ kid: keys[0].kid, pem: keys[0].publicKeyPem });
    tenant = await makeTenant(t.ds);
    await grantAccess(t.ds, tenant.id, target.id, { groupMappings: { analysts: ['Qlik Analysts'] } });
    user = await makeUser(t.ds, tenant.id, { groups: ['analysts'] });
    cookie = `eidp_session=${(await t.app.get(SessionsService).create({ id: user.id, tenantId: tenant.id }, { ip: null, userAgent: 'jest' })).token}`;
  });
  afterAll(async () => {
    await qlik?.close();
    await t?.close();
  });

  it('answers {token, expiresAt, tenantUrl}; Qlik opens a session with it; recorded and audited first', async () => {
    const res = await request(t.http).get(`/embed/${target.slug}/token`).set('Cookie', cookie).expect(200);
    expect(Object.keys(res.body).sort()).toEqual(['expiresAt', 'tenantUrl', 'token']);
    expect(res.body.tenantUrl).toBe(qlik.url);
    const session = await fetch(`${res.body.tenantUrl}/login/jwt-session`, { method: 'POST', headers: { Authorization: `Bearer ${res.body.token}` } });
    expect(session.status).toBe(200);
    const claims = qlik.sessions.at(-1)!;
    expect(claims).toMatchObject({ sub: user.email, email: user.email, subType: 'user', email_verified: true, groups: ['Qlik Analysts'], iss: ISSUER });
    expect(await t.ds.query(`SELECT 1 FROM issued_tokens WHERE jti = $1 AND target_id = $2`, [claims.jti, target.id])).toHaveLength(1);
    expect(await t.ds.query(`SELECT 1 FROM audit_events WHERE type = 'token.issued' AND details->>'jti' = $1`, [claims.jti])).toHaveLength(1);
  });

  it('refuses without a session, without access, for an unknown or disabled target: nothing minted', async () => {
    const before = Number((await t.ds.query(`SELECT count(*) AS n FROM issued_tokens WHERE target_id = $1`, [target.id]))[0].n);
    await request(t.http).get(`/embed/${target.slug}/token`).expect(401);
    const other = await makeTenant(t.ds);
    const stranger = await makeUser(t.ds, other.id, {});
    const s = await t.app.get(SessionsService).create({ id: stranger.id, tenantId: other.id }, { ip: null, userAgent: 'jest' });
    await request(t.http).get(`/embed/${target.slug}/token`).set('Cookie', `eidp_session=${s.token}`).expect(403);
    await request(t.http).get(`/embed/no-such-qlik/token`).set('Cookie', cookie).expect(404);
    await t.ds.query(`UPDATE targets SET disabled = true WHERE id = $1`, [target.id]);
    try {
      await request(t.http).get(`/embed/${target.slug}/token`).set('Cookie', cookie).expect(403);
    } finally {
      await t.ds.query(`UPDATE targets SET disabled = false WHERE id = $1`, [target.id]);
    }
    expect(Number((await t.ds.query(`SELECT count(*) AS n FROM issued_tokens WHERE target_id = $1`, [target.id]))[0].n)).toBe(before);
  });
});
