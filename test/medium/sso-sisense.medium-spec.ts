import { decodeJwt } from 'jose';
import request from 'supertest';
import { SessionsService } from '../../src/auth/sessions.service';
import { escapeHtml } from '../../src/common/html';
import { FakeSisense, startFakeSisense } from '../fakes/sisense';
import { grantAccess, makeTarget, makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';

/**
 * The Sisense redirect dance against a fake Sisense that enforces the contract in the README with jose:
 * Sisense -> /sso/<target>?return_to=.. -> (login) -> 302 <sisense>[/<tenant>]/jwt?jwt=..
 * -> Sisense accepts; and Sisense's Remote Logout URL ending our session.
 */
const SECRET = 'e2e-sisense-shared-secret-0123456789abcdef';
const ORG_TENANT = { name: 'acme', id: '64f0c0ffee00000000000001' };

describe('Sisense JWT SSO (e2e)', () => {
  let t: TestApp;
  let fake: FakeSisense;
  let target: { id: string; slug: string };
  let tenant: { id: string; slug: string };

  beforeAll(async () => {
    t = await createTestApp();
    fake = await startFakeSisense({ secret: SECRET, tenants: { [ORG_TENANT.name]: ORG_TENANT.id } });
    target = await makeTarget(t, {
      kind: 'sisense',
      baseUrl: fake.url,
      secret: SECRET,
      settings: { allowedOrigins: ['https://app.example.com'] },
    });
    tenant = await makeTenant(t.ds);
    await grantAccess(t.ds, tenant.id, target.id, { groupMappings: { analysts: ['Viewers', 'Analysts'], admins: ['Analysts'] } });
  });
  afterAll(async () => {
    await fake?.close();
    await t?.close();
  });

  /** A signed-in browser: the cookie of a real session of a new user of `tenantId`. */
  async function signIn(tenantId: string, p: { groups?: string[]; email?: string } = {}) {
    const user = await makeUser(t.ds, tenantId, { groups: p.groups, email: p.email });
    const s = await t.app.get(SessionsService).create({ id: user.id, tenantId }, { ip: null, userAgent: 'jest' });
    return { user, sessionId: s.id, cookie: `eidp_session=${s.token}` };
  }

  const sso = (slug: string, query: string, cookie?: string) => {
    const r = request(t.http).get(`/sso/${slug}${query}`);
    return cookie ? r.set('Cookie', cookie) : r;
  };

  /** The iat sequence scope of a Sisense instance's system tenant (see sisenseIatScope). */
  const scopeOf = (baseUrl: string) => `sisense:${new URL(baseUrl).origin}|`;

  async function tokenRows(jti: string) {
    return t.ds.query(`SELECT target_id, tenant_id, user_id, session_id, iat, exp FROM issued_tokens WHERE jti = $1`, [jti]);
  }

  it('sends a visitor without a session to the login page, keeping where they were going', async () => {
    const res = await sso(target.slug, `?return_to=${encodeURIComponent('/app/main/dashboards/5f1?embed=true')}`).expect(302);
    const loc = new URL(res.headers.location, 'http://idp.invalid');
    expect(loc.pathname).toBe('/login');
    // Not guessed from who uses the target (that would tell strangers who our customers are).
    expect(loc.searchParams.get('tenant')).toBeNull();
    const next = new URL(loc.searchParams.get('next')!, 'http://idp.invalid');
    expect(next.pathname).toBe(`/sso/${target.slug}`);
    expect(next.searchParams.get('return_to')).toBe('/app/main/dashboards/5f1?embed=true');
    expect(fake.logins).toHaveLength(0);
  });

  it('signs a visitor with a session in: 302 to <sisense>/jwt, which Sisense accepts and follows', async () => {
    const { user, sessionId, cookie } = await signIn(tenant.id, { groups: ['analysts', 'admins', 'interns'] });
    const res = await sso(target.slug, `?return_to=${encodeURIComponent('/app/main/dashboards/5f1?embed=true')}`, cookie).expect(302);
    expect(res.headers['cache-control']).toBe('no-store');
    const loc = new URL(res.headers.location);
    expect(`${loc.origin}${loc.pathname}`).toBe(`${fake.url}/jwt`);
    expect(loc.searchParams.get('return_to')).toBe('/app/main/dashboards/5f1?embed=true');

    const accepted = await fake.present(res.headers.location);
    expect(accepted.status).toBe(302);
    expect(accepted.location).toBe(`${fake.url}/app/main/dashboards/5f1?embed=true`);
    const login = fake.logins.at(-1)!;
    expect(login).toMatchObject({ tenant: null, email: user.email });
    expect(login.claims).toMatchObject({ sub: user.email, firstName: 'Ada', lastName: 'Lovelace' });
    // Mapped Sisense group names, each once; the unmapped local group is not sent.
    expect([...(login.claims.groups as string[])].sort()).toEqual(['Analysts', 'Viewers']);
    expect(login.claims).not.toHaveProperty('tenantId');
    expect((login.claims.exp as number) - login.iat).toBe(300);

    // Recorded with its jti before it left, for this session; the session now names the target.
    const [row] = await tokenRows(login.jti);
    expect(row).toMatchObject({ target_id: target.id, tenant_id: tenant.id, user_id: user.id, session_id: sessionId, iat: String(login.iat) });
    const [s] = await t.ds.query(`SELECT targets_used FROM sessions WHERE id = $1`, [sessionId]);
    expect(s.targets_used).toEqual([target.id]);
    const [seq] = await t.ds.query(`SELECT last_iat FROM iat_sequences WHERE scope = $1 AND subject = $2`, [scopeOf(fake.url), user.email]);
    expect(Number(seq.last_iat)).toBe(login.iat);
  });

  it('gives two logins of one user in the same second strictly increasing iats, both accepted', async () => {
    const { user, cookie } = await signIn(tenant.id);
    const first = await sso(target.slug, '?return_to=%2F', cookie).expect(302);
    const second = await sso(target.slug, '?return_to=%2F', cookie).expect(302);
    const [a, b] = [first, second].map((r) => decodeJwt(new URL(r.headers.location).searchParams.get('jwt')!));
    expect(b.iat!).toBeGreaterThan(a.iat!);
    expect(a.jti).not.toBe(b.jti);
    expect((await fake.present(first.headers.location)).status).toBe(302);
    expect((await fake.present(second.headers.location)).status).toBe(302);
    expect(fake.lastIat(user.email)).toBe(b.iat);
  });

  it('refuses (429, audited, nothing recorded) rather than mint an iat Sisense would reject for being too far ahead', async () => {
    const { user, cookie, sessionId } = await signIn(tenant.id);
    const now = Math.floor(Date.now() / 1000);
    // A subject that signed in faster than once a second for minutes: its sequence is at the cap.
    await t.ds.query(`INSERT INTO iat_sequences (scope, subject, last_iat) VALUES ($1, $2, $3)`, [scopeOf(fake.url), user.email, now + 300]);
    const before = await t.ds.query(`SELECT count(*)::int AS n FROM issued_tokens WHERE user_id = $1`, [user.id]);
    const res = await sso(target.slug, '?return_to=%2F', cookie).expect(429);
    expect(res.body.error).toBe('too_many_sign_ins');
    expect(res.headers.location).toBeUndefined();
    const after = await t.ds.query(`SELECT count(*)::int AS n FROM issued_tokens WHERE user_id = $1`, [user.id]);
    expect(after[0].n).toBe(before[0].n);
    const [ev] = await t.ds.query(`SELECT details FROM audit_events WHERE type = 'sso.denied' AND details->>'userId' = $1`, [user.id]);
    expect(ev.details.reason).toBe('iat_sequence_ahead');
    // No token, so the session did not use the target (logout will not call its logout URL).
    const [s] = await t.ds.query(`SELECT targets_used FROM sessions WHERE id = $1`, [sessionId]);
    expect(s.targets_used).toEqual([]);

    // Within the cap the sequence goes on: iat = last + 1, still accepted by Sisense's 5 minutes.
    await t.ds.query(`UPDATE iat_sequences SET last_iat = $3 WHERE scope = $1 AND subject = $2`, [scopeOf(fake.url), user.email, now + 100]);
    const ok = await sso(target.slug, '?return_to=%2F', cookie).expect(302);
    const claims = decodeJwt(new URL(ok.headers.location).searchParams.get('jwt')!);
    expect(claims.iat).toBe(now + 101);
    expect((await fake.present(ok.headers.location)).status).toBe(302);
  });

  it('shares the iat sequence between two targets pointing at the same Sisense (Sisense keeps one last iat per user)', async () => {
    const twin = await makeTarget(t, { kind: 'sisense', baseUrl: `${fake.url}/`, secret: SECRET });
    await grantAccess(t.ds, tenant.id, twin.id);
    const { user, cookie } = await signIn(tenant.id);
    const viaOne = await sso(target.slug, '?return_to=%2F', cookie).expect(302);
    const viaTwin = await sso(twin.slug, '?return_to=%2F', cookie).expect(302);
    const [a, b] = [viaOne, viaTwin].map((r) => decodeJwt(new URL(r.headers.location).searchParams.get('jwt')!));
    expect(b.iat!).toBeGreaterThan(a.iat!);
    expect((await fake.present(viaOne.headers.location)).status).toBe(302);
    expect((await fake.present(viaTwin.headers.location)).status).toBe(302);
    expect(fake.lastIat(user.email)).toBe(b.iat);
  });

  it('refuses a replay of the same redirect URL (Sisense stores every jti)', async () => {
    const { cookie } = await signIn(tenant.id);
    const res = await sso(target.slug, '?return_to=%2Fapp%2Fmain', cookie).expect(302);
    expect((await fake.present(res.headers.location)).status).toBe(302);
    const replay = await fake.present(res.headers.location);
    expect(replay.status).toBe(401);
    expect(replay.body).toEqual({ error: 'jti_replayed' });
  });

  it('accepts an absolute return_to on an allow-listed embedding origin (Compose SDK)', async () => {
    const { cookie } = await signIn(tenant.id);
    const res = await sso(target.slug, `?return_to=${encodeURIComponent('https://app.example.com/reports?tab=2')}`, cookie).expect(302);
    expect(new URL(res.headers.location).searchParams.get('return_to')).toBe('https://app.example.com/reports?tab=2');
    const accepted = await fake.present(res.headers.location);
    expect(accepted.status).toBe(302);
    expect(accepted.location).toBe('https://app.example.com/reports?tab=2');
  });

  it('takes return_to in the form the Compose SDK builds it: the host page\'s full href (query and fragment), set last by URLSearchParams after the Sisense URL\'s own parameters', async () => {
    const { cookie } = await signIn(tenant.id);
    const href = 'https://app.example.com/reports?tab=2&q=a+b%20c#section-1';
    const login = new URL(`http://idp.example/sso/${target.slug}`);
    login.searchParams.set('domain', 'acme'); // copied from the SDK's configured Sisense URL
    login.searchParams.set('return_to', href);
    const res = await sso(target.slug, login.search, cookie).expect(302);
    expect(new URL(res.headers.location).searchParams.get('return_to')).toBe(href);
    const accepted = await fake.present(res.headers.location);
    expect(accepted.location).toBe(href);
  });

  it('refuses a return_to on a foreign origin with a clear 400, audited, and mints nothing', async () => {
    const { cookie } = await signIn(tenant.id);
    const [{ n: before }] = await t.ds.query(`SELECT count(*)::int AS n FROM issued_tokens`);
    const res = await sso(target.slug, `?return_to=${encodeURIComponent('https://evil.example.net/phish')}`, cookie)
      .set('Accept', 'application/json')
      .expect(400);
    expect(res.body).toMatchObject({ statusCode: 400, error: 'invalid_return_to' });
    expect(res.headers.location).toBeUndefined();
    const [{ n: after }] = await t.ds.query(`SELECT count(*)::int AS n FROM issued_tokens`);
    expect(after).toBe(before);
    const [event] = await t.ds.query(`SELECT type, details FROM audit_events WHERE type = 'sso.denied' ORDER BY id DESC LIMIT 1`);
    expect(event.details).toMatchObject({ target: target.slug, reason: 'invalid_return_to', returnTo: 'https://evil.example.net/phish' });
  });

  it('refuses a tenant without access to the target: 403, audited, no token', async () => {
    const other = await makeTenant(t.ds);
    const { cookie } = await signIn(other.id);
    const res = await sso(target.slug, '?return_to=%2F', cookie).set('Accept', 'application/json').expect(403);
    expect(res.body.error).toBe('no_access');
    const [event] = await t.ds.query(`SELECT tenant_id, details FROM audit_events WHERE type = 'sso.denied' ORDER BY id DESC LIMIT 1`);
    expect(event).toMatchObject({ tenant_id: other.id, details: { reason: 'no_access' } });
  });

  describe('Sisense organization tenants', () => {
    it('by tenant name and id on the access: 302 to <sisense>/<tenant>/jwt with tenantId, accepted', async () => {
      const org = await makeTenant(t.ds);
      await grantAccess(t.ds, org.id, target.id, { settings: { sisenseTenantName: ORG_TENANT.name, sisenseTenantId: ORG_TENANT.id } });
      const { user, cookie } = await signIn(org.id);
      const res = await sso(target.slug, `?return_to=${encodeURIComponent('/acme/app/main')}`, cookie).expect(302);
      const loc = new URL(res.headers.location);
      expect(`${loc.origin}${loc.pathname}`).toBe(`${fake.url}/${ORG_TENANT.name}/jwt`);
      const accepted = await fake.present(res.headers.location);
      expect(accepted.status).toBe(302);
      expect(fake.logins.at(-1)).toMatchObject({ tenant: ORG_TENANT.name, email: user.email, claims: { tenantId: ORG_TENANT.id } });
    });

    it('by one target per Sisense tenant (tenant name and id on the target), accepted', async () => {
      const perTenant = await makeTarget(t, {
        kind: 'sisense',
        baseUrl: fake.url,
        secret: SECRET,
        settings: { tenantName: ORG_TENANT.name, tenantId: ORG_TENANT.id },
      });
      const org = await makeTenant(t.ds);
      await grantAccess(t.ds, org.id, perTenant.id);
      const { cookie } = await signIn(org.id);
      const res = await sso(perTenant.slug, '?return_to=%2F', cookie).expect(302);
      expect(res.headers.location.startsWith(`${fake.url}/${ORG_TENANT.name}/jwt?jwt=`)).toBe(true);
      expect((await fake.present(res.headers.location)).status).toBe(302);
      expect(fake.logins.at(-1)).toMatchObject({ tenant: ORG_TENANT.name, claims: { tenantId: ORG_TENANT.id } });
    });

    it('an access with a tenant name but no id (which the admin API refuses) would be refused by Sisense too', async () => {
      const org = await makeTenant(t.ds);
      await grantAccess(t.ds, org.id, target.id, { settings: { sisenseTenantName: ORG_TENANT.name } });
      const { cookie } = await signIn(org.id);
      const res = await sso(target.slug, '?return_to=%2F', cookie).expect(302);
      const denied = await fake.present(res.headers.location);
      expect(denied.body).toEqual({ error: 'tenant_id_missing' });
    });
  });

  describe('Remote Logout URL', () => {
    it('ends our session, clears the cookie, audits, and sends the browser to our signed-out page', async () => {
      const { user, sessionId, cookie } = await signIn(tenant.id);
      await sso(target.slug, '?return_to=%2F', cookie).expect(302);
      const res = await request(t.http).get(`/sso/${target.slug}/logout`).set('Cookie', cookie).expect(302);
      expect(res.headers.location).toBe('/logout');
      expect(String(res.headers['set-cookie'])).toMatch(/eidp_session=;/);
      const [s] = await t.ds.query(`SELECT revoked_at FROM sessions WHERE id = $1`, [sessionId]);
      expect(s.revoked_at).not.toBeNull();
      const [event] = await t.ds.query(`SELECT actor, tenant_id, details FROM audit_events WHERE type = 'logout' ORDER BY id DESC LIMIT 1`);
      expect(event).toMatchObject({ actor: `user:${user.id}`, tenant_id: tenant.id, details: { via: 'sisense', target: target.slug, sessionId } });
      // The next Sisense visit is not silently signed back in.
      const again = await sso(target.slug, '?return_to=%2F', cookie).expect(302);
      expect(again.headers.location.startsWith('/login?')).toBe(true);
    });

    it('also ends the other BI sessions this session opened (a Metabase), then moves on', async () => {
      const metabase = await makeTarget(t, { kind: 'metabase', baseUrl: 'https://metabase.example.com', secret: SECRET });
      await grantAccess(t.ds, tenant.id, metabase.id);
      const { sessionId, cookie } = await signIn(tenant.id);
      await sso(target.slug, '?return_to=%2F', cookie).expect(302);
      await sso(metabase.slug, '?return_to=%2F', cookie).expect(302);
      const res = await request(t.http).get(`/sso/${target.slug}/logout`).set('Cookie', cookie).expect(200);
      expect(res.text).toContain(`src="${escapeHtml('https://metabase.example.com/auth/logout')}"`);
      // Sisense has already ended its own session: it is not asked again.
      expect(res.text).not.toContain('/api/v1/authentication/logout');
      expect(res.text).toMatch(/http-equiv="refresh" content="3;url=\/logout"/);
      expect(res.headers['content-security-policy']).toContain('frame-src https://metabase.example.com');
      expect(String(res.headers['set-cookie'])).toMatch(/eidp_session=;/);
      const [s] = await t.ds.query(`SELECT revoked_at FROM sessions WHERE id = $1`, [sessionId]);
      expect(s.revoked_at).not.toBeNull();
    });

    it("goes to the target's logout landing page when one is configured", async () => {
      const landing = await makeTarget(t, {
        kind: 'sisense',
        baseUrl: fake.url,
        secret: SECRET,
        settings: { logoutLandingUrl: 'https://app.example.com/signed-out' },
      });
      await grantAccess(t.ds, tenant.id, landing.id);
      const { sessionId, cookie } = await signIn(tenant.id);
      const res = await request(t.http).get(`/sso/${landing.slug}/logout`).set('Cookie', cookie).expect(302);
      expect(res.headers.location).toBe('https://app.example.com/signed-out');
      const [s] = await t.ds.query(`SELECT revoked_at FROM sessions WHERE id = $1`, [sessionId]);
      expect(s.revoked_at).not.toBeNull();
    });

    it('without a session still lands on the signed-out page, auditing nothing', async () => {
      const [{ n: before }] = await t.ds.query(`SELECT count(*)::int AS n FROM audit_events WHERE type = 'logout'`);
      const res = await request(t.http).get(`/sso/${target.slug}/logout`).expect(302);
      expect(res.headers.location).toBe('/logout');
      const [{ n: after }] = await t.ds.query(`SELECT count(*)::int AS n FROM audit_events WHERE type = 'logout'`);
      expect(after).toBe(before);
    });

    it('answers 404 for an unknown target, and leaves the session alone', async () => {
      const { sessionId, cookie } = await signIn(tenant.id);
      const res = await request(t.http).get('/sso/no-such-target/logout').set('Cookie', cookie).set('Accept', 'application/json').expect(404);
      expect(res.body.error).toBe('target_not_found');
      const [s] = await t.ds.query(`SELECT revoked_at FROM sessions WHERE id = $1`, [sessionId]);
      expect(s.revoked_at).toBeNull();
    });

    it('our own logout page loads <sisense>[/<tenant>]/api/v1/authentication/logout for the Sisense targets used', async () => {
      const org = await makeTenant(t.ds);
      await grantAccess(t.ds, org.id, target.id, { settings: { sisenseTenantName: ORG_TENANT.name, sisenseTenantId: ORG_TENANT.id } });
      const { cookie } = await signIn(org.id);
      await sso(target.slug, '?return_to=%2F', cookie).expect(302);
      const page = await request(t.http).get('/logout').set('Cookie', cookie).set('Accept', 'text/html').expect(200);
      expect(page.text).toContain(`src="${escapeHtml(`${fake.url}/${ORG_TENANT.name}/api/v1/authentication/logout`)}"`);
    });
  });
});
