import { jwtVerify } from 'jose';
import request from 'supertest';
import { SessionsService } from '../../src/auth/sessions.service';
import { grantAccess, makeApiKey, makeTarget, makeTenant, makeUser } from '../factories';
import { FakeMetabase, startFakeMetabase } from '../fakes/metabase';
import { FakeSisense, startFakeSisense } from '../fakes/sisense';
import { createTestApp, TestApp } from '../setup/app';

/**
 * a BI identity (the email a BI instance keys its users by) has one owner
 * tenant per instance; a tenant-scoped key can neither take another tenant's BI account nor
 * override the attributes the global key set. Fakes verify every token with jose.
 */
const MB_SECRET = 'mb-identities-jwt-secret-0123456789abcdef';
const MB_EMBED = 'mb-identities-embed-secret-0123456789abcdef';
const SS_SECRET = 'ss-identities-jwt-secret-0123456789abcdef';
const SHARED = 'globex@bi.example.com';

describe('BI identities have one owner', () => {
  let t: TestApp;
  let mb: FakeMetabase;
  let ss: FakeSisense;
  let globalKey: string;

  beforeAll(async () => {
    t = await createTestApp();
    globalKey = await makeApiKey(t.ds, null);
    mb = await startFakeMetabase({ jwtSecret: MB_SECRET, embeddingSecret: MB_EMBED, embedParams: { 'dashboard/5': ['customer'] } });
    ss = await startFakeSisense({ secret: SS_SECRET });
  });
  afterAll(async () => {
    await mb?.close();
    await ss?.close();
    await t?.close();
  });

  const api = (key: string) => ({
    get: (p: string) => request(t.http).get(p).set('Authorization', `Bearer ${key}`),
    post: (p: string, body: object) => request(t.http).post(p).set('Authorization', `Bearer ${key}`).send(body),
    put: (p: string, body: object) => request(t.http).put(p).set('Authorization', `Bearer ${key}`).send(body),
    patch: (p: string, body: object) => request(t.http).patch(p).set('Authorization', `Bearer ${key}`).send(body),
    del: (p: string) => request(t.http).delete(p).set('Authorization', `Bearer ${key}`),
  });
  const cookieFor = async (userId: string, tenantId: string) =>
    `eidp_session=${(await t.app.get(SessionsService).create({ id: userId, tenantId }, { ip: null, userAgent: 'jest' })).token}`;
  const sso = (slug: string, cookie: string) => request(t.http).get(`/sso/${slug}?return_to=/`).set('Cookie', cookie);
  const count = async (sql: string, params: unknown[] = []) => Number((await t.ds.query(sql, params))[0].n);
  /** The same instance spelled another way: upper-case host, explicit path. Not the raw string. */
  const respell = (url: string) => url.replace('http://127.0.0.1', 'HTTP://127.0.0.1') + '/';

  /** Tenant A with a tenant-scoped key and access to `targetId`. */
  async function attacker(targetId: string) {
    const a = await makeTenant(t.ds, { name: 'Attacker' });
    await grantAccess(t.ds, a.id, targetId);
    return { tenant: a, key: await makeApiKey(t.ds, a.id, 'A admin') };
  }

  async function createUserWithKey(key: string, tenantId: string, email: string) {
    const res = await api(key).post(`/api/v1/tenants/${tenantId}/users`, { email }).expect(201);
    return res.body.id as string;
  }

  describe('item 1: shared-account takeover', () => {
    it('Metabase: A cannot get a token for B\'s shared account, granted by the operator before anyone used it', async () => {
      const bTarget = await makeTarget(t, { kind: 'metabase', baseUrl: mb.url, secret: MB_SECRET });
      const aTarget = await makeTarget(t, { kind: 'metabase', baseUrl: respell(mb.url), secret: MB_SECRET });
      const b = await makeTenant(t.ds, { name: 'Globex' });
      await api(globalKey).put(`/api/v1/tenants/${b.id}/access/${bTarget.id}`, { settings: { sharedAccount: { email: SHARED } } }).expect(201);
      const { tenant: a, key } = await attacker(aTarget.id);

      const impostor = await createUserWithKey(key, a.id, SHARED);
      const loginsBefore = mb.logins.length;
      const tokens = await count(`SELECT count(*) AS n FROM issued_tokens`);
      const res = await sso(aTarget.slug, await cookieFor(impostor, a.id));
      expect(res.status).toBe(409);
      expect(res.headers.location).toBeUndefined();
      expect(await count(`SELECT count(*) AS n FROM issued_tokens`)).toBe(tokens);
      expect(mb.logins.length).toBe(loginsBefore);
      expect(await count(`SELECT count(*) AS n FROM audit_events WHERE type = 'sso.denied' AND tenant_id = $1 AND details->>'reason' = 'identity_owned_elsewhere'`, [a.id])).toBe(1);
      // The refusal names neither B nor anything of B.
      expect(res.text).not.toContain(b.id);
      expect(res.text).not.toContain('Globex');

      // B's people still sign in as their shared account.
      const worker = await makeUser(t.ds, b.id);
      const ok = await sso(bTarget.slug, await cookieFor(worker.id, b.id));
      expect(ok.status).toBe(302);
      const landed = await fetch(ok.headers.location, { redirect: 'manual' });
      expect(landed.status).toBe(302);
      expect(mb.logins[mb.logins.length - 1].email).toBe(SHARED);
    });

    it('Sisense: A is refused and cannot advance the shared account\'s iat sequence (no 429 for B)', async () => {
      const bTarget = await makeTarget(t, { kind: 'sisense', baseUrl: ss.url, secret: SS_SECRET });
      const aTarget = await makeTarget(t, { kind: 'sisense', baseUrl: respell(ss.url), secret: SS_SECRET });
      const b = await makeTenant(t.ds);
      const email = 'initech@bi.example.com';
      await grantAccess(t.ds, b.id, bTarget.id, { settings: { sharedAccount: { email } } });
      const worker = await makeUser(t.ds, b.id);
      const bCookie = await cookieFor(worker.id, b.id);
      expect((await sso(bTarget.slug, bCookie)).status).toBe(302); // first use claims it for B
      const seq = async () => t.ds.query(`SELECT last_iat FROM iat_sequences WHERE subject = $1`, [email]);
      const before = await seq();

      const { tenant: a, key } = await attacker(aTarget.id);
      const aCookie = await cookieFor(await createUserWithKey(key, a.id, email), a.id);
      const burst = await Promise.all(Array.from({ length: 20 }, () => sso(aTarget.slug, aCookie)));
      expect(burst.map((r) => r.status)).toEqual(Array(20).fill(409));
      expect(await seq()).toEqual(before);

      const again = await sso(bTarget.slug, bCookie);
      expect(again.status).toBe(302);
      const landed = await fetch(again.headers.location, { redirect: 'manual' });
      expect(landed.status).toBe(302);
      expect(ss.logins[ss.logins.length - 1].email).toBe(email);
    });
  });

  describe('item 2: identity probe and denial', () => {
    it('A\'s key creating B\'s user\'s email: 201 like any email, and B\'s user keeps signing in', async () => {
      const target = await makeTarget(t, { kind: 'metabase', baseUrl: mb.url, secret: MB_SECRET });
      const b = await makeTenant(t.ds);
      await grantAccess(t.ds, b.id, target.id);
      const bKey = await makeApiKey(t.ds, b.id);
      const email = 'cfo@globex.example';
      const bUser = await createUserWithKey(bKey, b.id, email);
      const { tenant: a, key } = await attacker(target.id);

      // Creation answers the same for a fresh email and for one B has.
      const fresh = await api(key).post(`/api/v1/tenants/${a.id}/users`, { email: 'fresh@nowhere.example' });
      const twin = await api(key).post(`/api/v1/tenants/${a.id}/users`, { email });
      expect([fresh.status, twin.status]).toEqual([201, 201]);
      expect(Object.keys(twin.body).sort()).toEqual(Object.keys(fresh.body).sort());

      // A's twin tries first: refused. B's user, created earlier, is never denied.
      expect((await sso(target.slug, await cookieFor(twin.body.id, a.id))).status).toBe(409);
      const res = await sso(target.slug, await cookieFor(bUser, b.id));
      expect(res.status).toBe(302);
      expect(res.headers.location.startsWith(`${mb.url}/auth/sso?jwt=`)).toBe(true);
    });
  });

  describe('claimed when access is granted', () => {
    it('a user who existed before the tenant got access is claimed at the grant: a later twin elsewhere cannot deny them', async () => {
      const target = await makeTarget(t, { kind: 'metabase', baseUrl: mb.url, secret: MB_SECRET });
      const b = await makeTenant(t.ds);
      const old = await makeUser(t.ds, b.id, { email: 'veteran@globex.example' });
      await api(globalKey).put(`/api/v1/tenants/${b.id}/access/${target.id}`, {}).expect(201);
      const { tenant: a, key } = await attacker(target.id);
      const twin = await createUserWithKey(key, a.id, 'veteran@globex.example');
      expect((await sso(target.slug, await cookieFor(twin, a.id))).status).toBe(409);
      expect((await sso(target.slug, await cookieFor(old.id, b.id))).status).toBe(302);
      const [row] = await t.ds.query(`SELECT tenant_id, claimed_via FROM bi_identities WHERE email = 'veteran@globex.example'`);
      expect(row).toEqual({ tenant_id: b.id, claimed_via: 'user' });
    });

    it('a shared account another tenant owns on the instance cannot be granted (409 naming the owner, for the operator)', async () => {
      const target = await makeTarget(t, { kind: 'metabase', baseUrl: mb.url, secret: MB_SECRET });
      const other = await makeTarget(t, { kind: 'metabase', baseUrl: respell(mb.url), secret: MB_SECRET });
      const [b, c] = [await makeTenant(t.ds), await makeTenant(t.ds)];
      await api(globalKey).put(`/api/v1/tenants/${b.id}/access/${target.id}`, { settings: { sharedAccount: { email: 'hooli@bi.example.com' } } }).expect(201);
      const res = await api(globalKey).put(`/api/v1/tenants/${c.id}/access/${other.id}`, { settings: { sharedAccount: { email: 'Hooli@bi.example.com' } } }).expect(409);
      expect(res.body).toMatchObject({ error: 'identity_owned_elsewhere', details: { ownerTenantId: b.id, instance: new URL(mb.url).origin } });
      expect(await count(`SELECT count(*) AS n FROM tenant_target_access WHERE tenant_id = $1`, [c.id])).toBe(0);
    });
  });

  describe('first use, concurrently', () => {
    it('two tenants racing for an unclaimed email: one owns it, every request of the other is refused', async () => {
      const target = await makeTarget(t, { kind: 'metabase', baseUrl: mb.url, secret: MB_SECRET });
      const [x, y] = [await makeTenant(t.ds), await makeTenant(t.ds)];
      await grantAccess(t.ds, x.id, target.id);
      await grantAccess(t.ds, y.id, target.id);
      const email = 'race@example.net';
      const cx = await cookieFor((await makeUser(t.ds, x.id, { email })).id, x.id);
      const cy = await cookieFor((await makeUser(t.ds, y.id, { email })).id, y.id);
      const res = await Promise.all(Array.from({ length: 16 }, (_, i) => sso(target.slug, i % 2 ? cx : cy).then((r) => ({ who: i % 2 ? x.id : y.id, status: r.status }))));
      const [owner] = await t.ds.query(`SELECT tenant_id FROM bi_identities WHERE email = $1`, [email]);
      for (const r of res) expect(r.status).toBe(r.who === owner.tenant_id ? 302 : 409);
      expect(await count(`SELECT count(*) AS n FROM bi_identities WHERE email = $1`, [email])).toBe(1);
    });

    it('one tenant\'s parallel first sign-ins all go through (a claim committed after the statement\'s snapshot is re-read)', async () => {
      const target = await makeTarget(t, { kind: 'metabase', baseUrl: mb.url, secret: MB_SECRET });
      const x = await makeTenant(t.ds);
      await grantAccess(t.ds, x.id, target.id);
      const cookies = await Promise.all(Array.from({ length: 4 }, async () => cookieFor((await makeUser(t.ds, x.id, { email: `p-${Math.random()}@example.net` })).id, x.id)));
      const shared = await makeUser(t.ds, x.id, { email: 'together@example.net' });
      const c = await cookieFor(shared.id, x.id);
      const res = await Promise.all([...Array.from({ length: 12 }, () => sso(target.slug, c)), ...cookies.map((k) => sso(target.slug, k))]);
      expect(res.map((r) => r.status)).toEqual(Array(16).fill(302));
    });
  });

  describe('item 3: locked embed params come from what the global key set', () => {
    it('the access\'s attributes win over user and tenant attributes a tenant-scoped key edited, in the embed and the SSO token alike', async () => {
      const target = await makeTarget(t, { kind: 'metabase', baseUrl: mb.url, secret: MB_SECRET, embeddingSecret: MB_EMBED });
      const tenant = await makeTenant(t.ds);
      const key = await makeApiKey(t.ds, tenant.id);
      await api(globalKey)
        .put(`/api/v1/tenants/${tenant.id}/access/${target.id}`, { attributes: { customer_id: 'c-1' }, settings: { lockedParams: { customer: 'customer_id' } } })
        .expect(201);
      const userId = await createUserWithKey(key, tenant.id, 'mallory@tenant.example');
      // The tenant's own admin tries to widen what the user sees.
      await api(key).patch(`/api/v1/tenants/${tenant.id}/users/${userId}`, { attributes: { customer_id: 'c-2' } }).expect(200);
      await api(key).patch(`/api/v1/tenants/${tenant.id}`, { attributes: { customer_id: 'c-3' } }).expect(200);
      const cookie = await cookieFor(userId, tenant.id);

      const embed = await request(t.http).get(`/embed/${target.slug}/dashboard/5?response=json`).set('Cookie', cookie).expect(200);
      const token = new URL(embed.body.url).pathname.split('/')[3];
      const { payload } = await jwtVerify(token, new TextEncoder().encode(MB_EMBED), { algorithms: ['HS256'] });
      expect(payload.params).toEqual({ customer: 'c-1' });

      const s = await request(t.http).get(`/sso/${target.slug}?response=json`).set('Cookie', cookie).expect(200);
      const claims = (await jwtVerify(s.body.jwt, new TextEncoder().encode(MB_SECRET), { algorithms: ['HS256'] })).payload;
      expect(claims.customer_id).toBe('c-1');
    });
  });

  describe('email domains (global key only)', () => {
    it('gives a domain to one tenant only; users and shared accounts in it exist only there', async () => {
      const owner = await makeTenant(t.ds);
      const other = await makeTenant(t.ds);
      const otherKey = await makeApiKey(t.ds, other.id);
      const ownerKey = await makeApiKey(t.ds, owner.id);
      const domains = (id: string) => `/api/v1/tenants/${id}/email-domains`;

      // Tenant-scoped keys cannot give themselves a domain.
      await api(ownerKey).put(`${domains(owner.id)}/acme.example`, {}).expect(403);
      const created = await api(globalKey).put(`${domains(owner.id)}/ACME.example`, {}).expect(201);
      expect(created.body).toMatchObject({ domain: 'acme.example', tenantId: owner.id });
      await api(globalKey).put(`${domains(owner.id)}/acme.example`, {}).expect(200);
      const taken = await api(globalKey).put(`${domains(other.id)}/acme.example`, {}).expect(409);
      expect(taken.body.error).toBe('email_domain_taken');
      await api(globalKey).put(`${domains(other.id)}/not_a_domain`, {}).expect(400);
      expect((await api(globalKey).get(domains(owner.id)).expect(200)).body.items).toEqual([expect.objectContaining({ domain: 'acme.example' })]);
      expect((await api(ownerKey).get(domains(owner.id)).expect(200)).body.items).toHaveLength(1);

      // Users in the domain: only in the owning tenant.
      const refused = await api(otherKey).post(`/api/v1/tenants/${other.id}/users`, { email: 'Eve@Acme.example' }).expect(409);
      expect(refused.body.error).toBe('email_domain_owned');
      expect(refused.body.message).toContain('acme.example');
      await api(ownerKey).post(`/api/v1/tenants/${owner.id}/users`, { email: 'eve@acme.example' }).expect(201);
      // A subdomain is not the domain.
      await api(otherKey).post(`/api/v1/tenants/${other.id}/users`, { email: 'x@eu.acme.example' }).expect(201);

      // Shared accounts in the domain: only for the owning tenant.
      const target = await makeTarget(t, { kind: 'metabase', baseUrl: 'https://mb-domains.example.com', secret: MB_SECRET });
      const grant = await api(globalKey).put(`/api/v1/tenants/${other.id}/access/${target.id}`, { settings: { sharedAccount: { email: 'bi@acme.example' } } }).expect(409);
      expect(grant.body.error).toBe('email_domain_owned');
      await api(globalKey).put(`/api/v1/tenants/${owner.id}/access/${target.id}`, { settings: { sharedAccount: { email: 'bi@acme.example' } } }).expect(201);

      // A domain where another tenant already has users cannot be given away under them.
      const busy = await api(globalKey).put(`${domains(owner.id)}/eu.acme.example`, {}).expect(409);
      expect(busy.body.error).toBe('email_domain_in_use');

      await api(globalKey).del(`${domains(owner.id)}/acme.example`).expect(204);
      await api(globalKey).del(`${domains(owner.id)}/acme.example`).expect(404);
      await api(otherKey).post(`/api/v1/tenants/${other.id}/users`, { email: 'eve@acme.example' }).expect(201);
    });

    it('an owned domain also wins at sign-in: another tenant\'s old user in it is refused', async () => {
      const target = await makeTarget(t, { kind: 'metabase', baseUrl: mb.url, secret: MB_SECRET });
      const owner = await makeTenant(t.ds);
      const other = await makeTenant(t.ds);
      await grantAccess(t.ds, owner.id, target.id);
      await grantAccess(t.ds, other.id, target.id);
      // Created straight in the database, as a user from before the domain existed would be.
      const stale = await makeUser(t.ds, other.id, { email: 'boss@initech.example' });
      await t.ds.query(`INSERT INTO email_domains (domain, tenant_id) VALUES ('initech.example', $1)`, [owner.id]);
      expect((await sso(target.slug, await cookieFor(stale.id, other.id))).status).toBe(409);
      const real = await makeUser(t.ds, owner.id, { email: 'boss@initech.example' });
      expect((await sso(target.slug, await cookieFor(real.id, owner.id))).status).toBe(302);
    });
  });

  describe('operators resolve conflicts', () => {
    it('lists, transfers and releases an identity (global key only)', async () => {
      const target = await makeTarget(t, { kind: 'metabase', baseUrl: mb.url, secret: MB_SECRET });
      const first = await makeTenant(t.ds);
      const second = await makeTenant(t.ds);
      await grantAccess(t.ds, first.id, target.id);
      await grantAccess(t.ds, second.id, target.id);
      const email = 'moved@example.org';
      const u1 = await makeUser(t.ds, first.id, { email });
      const u2 = await makeUser(t.ds, second.id, { email });
      const c1 = await cookieFor(u1.id, first.id);
      const c2 = await cookieFor(u2.id, second.id);
      expect((await sso(target.slug, c1)).status).toBe(302);
      expect((await sso(target.slug, c2)).status).toBe(409);

      const scoped = await makeApiKey(t.ds, first.id);
      await api(scoped).get(`/api/v1/bi-identities?email=${email}`).expect(403);
      const listed = await api(globalKey).get(`/api/v1/bi-identities?email=${encodeURIComponent(email.toUpperCase())}`).expect(200);
      const instance = new URL(mb.url).origin;
      expect(listed.body.items).toEqual([expect.objectContaining({ instance, email, tenantId: first.id, tenantSlug: first.slug, claimedVia: 'sso' })]);
      expect((await api(globalKey).get(`/api/v1/bi-identities?instance=${encodeURIComponent(respell(mb.url))}`).expect(200)).body.items)
        .toEqual(expect.arrayContaining([expect.objectContaining({ email })]));
      await api(globalKey).get(`/api/v1/bi-identities`).expect(400);

      // Transfer: now the second tenant's user is the one Metabase sees.
      await api(scoped).put(`/api/v1/bi-identities`, { instance: respell(mb.url), email, tenantId: second.id }).expect(403);
      const moved = await api(globalKey).put(`/api/v1/bi-identities`, { instance: respell(mb.url), email, tenantId: second.id }).expect(200);
      expect(moved.body).toMatchObject({ instance, email, tenantId: second.id, claimedVia: 'operator' });
      expect((await sso(target.slug, c1)).status).toBe(409);
      expect((await sso(target.slug, c2)).status).toBe(302);
      expect(await count(`SELECT count(*) AS n FROM audit_events WHERE type = 'bi_identity.transferred' AND details->>'email' = $1`, [email])).toBe(1);

      await api(globalKey).put(`/api/v1/bi-identities`, { instance: mb.url, email, tenantId: '00000000-0000-4000-8000-000000000000' }).expect(404);
      await api(globalKey).put(`/api/v1/bi-identities`, { instance: 'ftp://x', email, tenantId: second.id }).expect(400);
      await api(globalKey).put(`/api/v1/bi-identities`, { instance: mb.url, email: 'nope', tenantId: second.id }).expect(400);

      // Release: the next tenant to use it owns it.
      await api(scoped).del(`/api/v1/bi-identities?instance=${encodeURIComponent(mb.url)}&email=${email}`).expect(403);
      await api(globalKey).del(`/api/v1/bi-identities?instance=${encodeURIComponent(mb.url)}&email=${email}`).expect(204);
      await api(globalKey).del(`/api/v1/bi-identities?instance=${encodeURIComponent(mb.url)}&email=${email}`).expect(404);
      expect((await sso(target.slug, c1)).status).toBe(302);
      expect((await sso(target.slug, c2)).status).toBe(409);
    });
  });

  describe('group mappings name existing groups', () => {
    it('refuses a mapping of a local group the tenant does not have, naming it', async () => {
      const target = await makeTarget(t, { kind: 'metabase', baseUrl: 'https://mb-groups.example.com', secret: MB_SECRET });
      const tenant = await makeTenant(t.ds);
      await makeUser(t.ds, tenant.id, { groups: ['analysts'] });
      const res = await api(globalKey)
        .put(`/api/v1/tenants/${tenant.id}/access/${target.id}`, { groupMappings: { analysts: ['Analysts'], analyst: ['Analysts'] } })
        .expect(400);
      expect(res.body).toMatchObject({ error: 'unknown_groups', message: expect.stringContaining('"analyst"') });
      expect(await count(`SELECT count(*) AS n FROM tenant_target_access WHERE tenant_id = $1`, [tenant.id])).toBe(0);
      await api(globalKey).put(`/api/v1/tenants/${tenant.id}/access/${target.id}`, { groupMappings: { analysts: ['Analysts'] } }).expect(201);
    });
  });
});
