import { decodeProtectedHeader } from 'jose';
import { BI_LOGOUT, BiLogout } from '../../src/auth/bi-logout';
import { SessionsService } from '../../src/auth/sessions.service';
import { SecretBox } from '../../src/crypto/secret-box';
import { IssuedTokensPruner, PRUNE_MARGIN_SECONDS } from '../../src/issuance/issued-tokens-pruner';
import request from 'supertest';
import { grantAccess, makeApiKey, makeTarget, makeTenant, makeUser } from '../factories';
import { FakeMetabase, MiniBrowser, startFakeMetabase } from '../fakes/metabase';
import { createTestApp, TestApp } from '../setup/app';

/**
 * Metabase JWT SSO end to end: a fake Metabase (verifying with jose, as the contract in the README says)
 * sends visitors to our IdP URI; we send them to login or straight back with a token.
 */
const SECRET = 'mb-jwt-secret-for-tests-0123456789abcdef';

describe('Metabase JWT SSO (GET /sso/:target)', () => {
  let t: TestApp;
  let base: string;
  let mb: FakeMetabase;
  let tenant: { id: string; slug: string };
  let target: { id: string; slug: string };
  let user: { id: string; email: string };

  beforeAll(async () => {
    t = await createTestApp();
    base = await t.listen();
    tenant = await makeTenant(t.ds, { attributes: { region: 'tenant-region', plan: 'gold' } });
    // A Metabase dedicated to one customer: its IdP URI names the tenant, and Metabase
    // appends return_to with '&' (its contract, README "Metabase").
    mb = await startFakeMetabase({ jwtSecret: SECRET, idpUri: `${base}/sso/mb-main?tenant=${tenant.slug}` });
    user = await makeUser(t.ds, tenant.id, {
      email: 'ada@example.com',
      firstName: 'Ada',
      lastName: 'Lovelace',
      attributes: { region: 'emea', role: 'analyst' },
      groups: ['analysts', 'staff'],
    });
    target = await makeTarget(t, { kind: 'metabase', slug: 'mb-main', baseUrl: mb.url, secret: SECRET });
    await grantAccess(t.ds, tenant.id, target.id, {
      groupMappings: { analysts: ['Analysts', 'Viewers'] },
      attributes: { source: 'embed-idp' },
    });
  });
  afterAll(async () => {
    await mb.close();
    await t.close();
  });

  async function signIn(browser: MiniBrowser, who: { id: string; tenantId: string }) {
    const s = await t.app.get(SessionsService).create(who, { ip: null, userAgent: null });
    browser.jar(base).set('eidp_session', s.token);
    return s;
  }
  const count = async (sql: string, params: unknown[] = []) => Number((await t.ds.query(sql, params))[0].n);
  const lastLogin = () => mb.logins[mb.logins.length - 1];

  it('walks the whole dance: Metabase -> IdP -> login -> IdP -> Metabase /auth/sso -> the page asked for', async () => {
    const browser = new MiniBrowser();
    // 1. Metabase sends the visitor to us with return_to appended unencoded.
    const toIdp = await browser.get(`${mb.url}/dashboard/1?a=1&b=2`);
    expect(toIdp.location).toBe(`${base}/sso/mb-main?tenant=${tenant.slug}&return_to=/dashboard/1?a=1&b=2`);
    // 2. No session: our login page, the continuation kept (with return_to rebuilt whole).
    const toLogin = await browser.get(toIdp.location!);
    expect(toLogin.status).toBe(302);
    const login = new URL(toLogin.location!);
    expect(login.pathname).toBe('/login');
    expect(login.searchParams.get('tenant')).toBe(tenant.slug);
    const next = login.searchParams.get('next')!;
    expect(next).toBe(`/sso/mb-main?return_to=${encodeURIComponent('/dashboard/1?a=1&b=2')}`);
    expect(await count(`SELECT count(*) AS n FROM issued_tokens`)).toBe(0);

    // 3. Signed in (the login page's job), the continuation mints and sends to Metabase.
    const session = await signIn(browser, { id: user.id, tenantId: tenant.id });
    const hops = await browser.follow(new URL(next, base).toString());
    expect(hops.map((h) => h.status)).toEqual([302, 302, 200]);
    const toMb = new URL(hops[0].location!);
    expect(`${toMb.origin}${toMb.pathname}`).toBe(`${mb.url}/auth/sso`);
    expect(toMb.searchParams.get('return_to')).toBe('/dashboard/1?a=1&b=2');
    expect(hops[0].headers.get('cache-control')).toBe('no-store');
    expect(JSON.parse(hops[2].text)).toEqual({ page: '/dashboard/1?a=1&b=2' });

    // What Metabase accepted: identity, mapped groups, attributes tenant < user < access.
    const l = lastLogin();
    expect(l).toMatchObject({ email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace', groups: ['Analysts', 'Viewers'] });
    expect(l.attributes).toEqual({ region: 'emea', plan: 'gold', role: 'analyst', source: 'embed-idp' });
    expect(l.tenant).toBeUndefined();
    expect(l.header).toMatchObject({ alg: 'HS256' });
    const { iat, exp, jti } = l.claims as { iat: number; exp: number; jti: string };
    expect(exp - iat).toBe(120);
    expect(Math.abs(iat - Date.now() / 1000)).toBeLessThan(30);

    // Recorded before it left: the token, its audit event, the session's use of the target.
    const [rec] = await t.ds.query(`SELECT * FROM issued_tokens WHERE jti = $1`, [jti]);
    expect(rec).toMatchObject({ target_id: target.id, tenant_id: tenant.id, user_id: user.id, session_id: session.id, iat: String(iat), exp: String(exp) });
    const [ev] = await t.ds.query(`SELECT * FROM audit_events WHERE type = 'sso.token_issued' AND details->>'jti' = $1`, [jti]);
    expect(ev).toMatchObject({ tenant_id: tenant.id, actor: `user:${user.id}` });
    expect(ev.details).toMatchObject({ target: 'mb-main', userId: user.id, flow: 'redirect' });
    const [s] = await t.ds.query(`SELECT targets_used FROM sessions WHERE id = $1`, [session.id]);
    expect(s.targets_used).toEqual([target.id]);
  });

  it('passes a visitor with a live session straight through, a fresh token each time', async () => {
    const browser = new MiniBrowser();
    const session = await signIn(browser, { id: user.id, tenantId: tenant.id });
    const first = await browser.follow(`${base}/sso/mb-main?return_to=/question/9`);
    expect(first.map((h) => h.status)).toEqual([302, 302, 200]);
    const jti1 = lastLogin().claims.jti;
    await browser.follow(`${base}/sso/mb-main?return_to=/question/9`);
    const jti2 = lastLogin().claims.jti;
    expect(jti1).not.toBe(jti2);
    // The target is listed once however often the session uses it.
    const [s] = await t.ds.query(`SELECT targets_used FROM sessions WHERE id = $1`, [session.id]);
    expect(s.targets_used).toEqual([target.id]);
  });

  it('accepts an absolute return_to on the Metabase origin and defaults a missing one to /', async () => {
    const browser = new MiniBrowser();
    await signIn(browser, { id: user.id, tenantId: tenant.id });
    const abs = await browser.get(`${base}/sso/mb-main?return_to=${encodeURIComponent(`${mb.url}/collection/3`)}`);
    expect(new URL(abs.location!).searchParams.get('return_to')).toBe(`${mb.url}/collection/3`);
    const none = await browser.get(`${base}/sso/mb-main`);
    expect(new URL(none.location!).searchParams.get('return_to')).toBe('/');
  });

  it.each([['https://evil.example.com/steal'], ['//evil.example.com/steal'], ['/\\evil.example.com'], ['javascript:alert(1)']])(
    'refuses return_to %s with a 400 page, audited, never followed, nothing minted',
    async (rt) => {
      const browser = new MiniBrowser();
      await signIn(browser, { id: user.id, tenantId: tenant.id });
      const tokens = await count(`SELECT count(*) AS n FROM issued_tokens`);
      const deniedSql = `SELECT count(*) AS n FROM audit_events WHERE type = 'sso.denied' AND details->>'reason' = 'invalid_return_to'`;
      const denied = await count(deniedSql);
      const res = await browser.get(`${base}/sso/mb-main?return_to=${encodeURIComponent(rt)}`);
      expect(res.status).toBe(400);
      expect(res.location).toBeNull();
      expect(res.headers.get('content-type')).toMatch(/text\/html/);
      expect(res.text).toContain('return_to');
      expect(await count(`SELECT count(*) AS n FROM issued_tokens`)).toBe(tokens);
      expect(await count(deniedSql)).toBe(denied + 1);
    },
  );

  it('refuses a foreign return_to before sending an anonymous visitor to login', async () => {
    const res = await new MiniBrowser().get(`${base}/sso/mb-main?return_to=https://evil.example.com/`);
    expect(res.status).toBe(400);
    expect(res.location).toBeNull();
  });

  describe('refusals: a clear page (JSON with response=json), audited, no token', () => {
    let browser: MiniBrowser;
    beforeAll(async () => {
      browser = new MiniBrowser();
      await signIn(browser, { id: user.id, tenantId: tenant.id });
    });
    const denied = (reason: string) => count(`SELECT count(*) AS n FROM audit_events WHERE type = 'sso.denied' AND details->>'reason' = $1`, [reason]);

    it('an unknown target: 404', async () => {
      const before = await denied('unknown_target');
      const res = await browser.get(`${base}/sso/no-such-target?return_to=/`);
      expect(res.status).toBe(404);
      expect(res.text).toContain('<title>Page not found</title>');
      expect(res.text).toContain('404 target_not_found');
      const json = await browser.get(`${base}/sso/no-such-target?response=json`);
      expect(json.status).toBe(404);
      expect(JSON.parse(json.text)).toMatchObject({ statusCode: 404, error: 'target_not_found' });
      expect(await denied('unknown_target')).toBe(before + 2);
    });

    it('a tenant without access: 403', async () => {
      const other = await makeTenant(t.ds);
      const stranger = await makeUser(t.ds, other.id);
      const b = new MiniBrowser();
      await signIn(b, { id: stranger.id, tenantId: other.id });
      const tokens = await count(`SELECT count(*) AS n FROM issued_tokens`);
      const res = await b.get(`${base}/sso/mb-main?return_to=/`);
      expect(res.status).toBe(403);
      expect(res.text).toContain('does not have access');
      expect(await count(`SELECT count(*) AS n FROM issued_tokens`)).toBe(tokens);
      expect(await count(`SELECT count(*) AS n FROM audit_events WHERE type = 'sso.denied' AND tenant_id = $1 AND details->>'reason' = 'no_access'`, [other.id])).toBe(1);
    });

    it('an email another tenant also has on the same Metabase: the first to use it owns it, the other gets 409 until an operator moves it', async () => {
      // Emails are unique per tenant only; Metabase knows a user by email alone, so these two
      // people would be one Metabase account (one's collections, groups and attributes).
      const rival = await makeTenant(t.ds);
      const mine = await makeUser(t.ds, tenant.id, { email: 'clash@example.com' });
      const twin = await makeUser(t.ds, rival.id, { email: 'clash@example.com' });
      // Another target on the same Metabase, its base URL spelled differently: one instance.
      const rivalTarget = await makeTarget(t, { kind: 'metabase', baseUrl: `${mb.url.replace('http://', 'HTTP://')}/`, secret: SECRET });
      await grantAccess(t.ds, rival.id, rivalTarget.id);
      const me = new MiniBrowser();
      await signIn(me, { id: mine.id, tenantId: tenant.id });
      const them = new MiniBrowser();
      await signIn(them, { id: twin.id, tenantId: rival.id });

      const first = await me.get(`${base}/sso/mb-main?return_to=/`);
      expect(first.status).toBe(302);
      const tokens = await count(`SELECT count(*) AS n FROM issued_tokens`);
      const res = await them.get(`${base}/sso/${rivalTarget.slug}?return_to=/`);
      expect(res.status).toBe(409);
      expect(res.text).toContain('not assigned to your organization');
      expect(res.text).not.toContain(tenant.slug);
      expect((await them.get(`${base}/sso/${rivalTarget.slug}?response=json`)).status).toBe(409);
      expect(await count(`SELECT count(*) AS n FROM issued_tokens`)).toBe(tokens);
      expect(await denied('identity_owned_elsewhere')).toBe(2);

      // Only an operator moves it (README "BI identities").
      const key = await makeApiKey(t.ds, null);
      await request(t.http).put('/api/v1/bi-identities').set('Authorization', `Bearer ${key}`)
        .send({ instance: mb.url, email: 'clash@example.com', tenantId: rival.id }).expect(200);
      const ok = await them.get(`${base}/sso/${rivalTarget.slug}?return_to=/`);
      expect(ok.status).toBe(302);
      expect(ok.location!.startsWith(`${mb.url}/auth/sso?jwt=`)).toBe(true);
      expect((await me.get(`${base}/sso/mb-main?return_to=/`)).status).toBe(409);
    });

    it('a disabled target: 403', async () => {
      const off = await makeTarget(t, { kind: 'metabase', baseUrl: mb.url, secret: SECRET });
      await grantAccess(t.ds, tenant.id, off.id);
      await t.ds.query(`UPDATE targets SET disabled = true WHERE id = $1`, [off.id]);
      const res = await browser.get(`${base}/sso/${off.slug}?return_to=/`);
      expect(res.status).toBe(403);
      expect(await count(`SELECT count(*) AS n FROM audit_events WHERE type = 'sso.denied' AND details->>'target' = $1 AND details->>'reason' = 'target_disabled'`, [off.slug])).toBe(1);
    });

    it('a product that does no JWT SSO (Databricks, a token broker): 400', async () => {
      const db = await makeTarget(t, { kind: 'databricks', baseUrl: 'https://dbc.example.com', secret: SECRET });
      await grantAccess(t.ds, tenant.id, db.id);
      const res = await browser.get(`${base}/sso/${db.slug}?response=json`);
      expect(res.status).toBe(400);
      expect(JSON.parse(res.text).error).toBe('sso_not_supported');
    });

    it('a disabled user, and a user of a disabled tenant: 403 account_disabled, not a login page', async () => {
      const u = await makeUser(t.ds, tenant.id);
      const b = new MiniBrowser();
      await signIn(b, { id: u.id, tenantId: tenant.id });
      await t.ds.query(`UPDATE users SET disabled = true WHERE id = $1`, [u.id]);
      const res = await b.get(`${base}/sso/mb-main?return_to=/`);
      expect(res.status).toBe(403);
      expect(res.text).toContain('disabled');
      const json = await b.get(`${base}/sso/mb-main?response=json`);
      expect(JSON.parse(json.text)).toMatchObject({ statusCode: 403, error: 'account_disabled' });
      expect(await count(`SELECT count(*) AS n FROM audit_events WHERE type = 'sso.denied' AND details->>'userId' = $1 AND details->>'reason' = 'user_disabled'`, [u.id])).toBe(2);

      const offTenant = await makeTenant(t.ds);
      const v = await makeUser(t.ds, offTenant.id);
      await grantAccess(t.ds, offTenant.id, target.id);
      const c = new MiniBrowser();
      await signIn(c, { id: v.id, tenantId: offTenant.id });
      await t.ds.query(`UPDATE tenants SET disabled = true WHERE id = $1`, [offTenant.id]);
      expect((await c.get(`${base}/sso/mb-main?return_to=/`)).status).toBe(403);
      expect(await count(`SELECT count(*) AS n FROM audit_events WHERE tenant_id = $1 AND details->>'reason' = 'tenant_disabled'`, [offTenant.id])).toBe(1);
      expect(await count(`SELECT count(*) AS n FROM issued_tokens WHERE user_id = ANY($1::uuid[])`, [[u.id, v.id]])).toBe(0);
    });
  });

  it('sends no token when recording it fails (the write comes before the redirect)', async () => {
    const browser = new MiniBrowser();
    await signIn(browser, { id: user.id, tenantId: tenant.id });
    const issuedEvents = await count(`SELECT count(*) AS n FROM audit_events WHERE type = 'sso.token_issued'`);
    const logins = mb.logins.length;
    await t.ds.query(`CREATE FUNCTION refuse_tokens() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'simulated write failure'; END $$`);
    await t.ds.query(`CREATE TRIGGER refuse_tokens BEFORE INSERT ON issued_tokens FOR EACH ROW EXECUTE FUNCTION refuse_tokens()`);
    try {
      const res = await browser.get(`${base}/sso/mb-main?return_to=/`);
      expect(res.status).toBe(500);
      expect(res.location).toBeNull();
      expect(res.text).not.toMatch(/eyJ/); // no JWT anywhere in the body
      expect(res.text).not.toContain('simulated');
      const json = await browser.get(`${base}/sso/mb-main?response=json`);
      expect(json.status).toBe(500);
      expect(json.text).not.toMatch(/eyJ/);
    } finally {
      await t.ds.query(`DROP TRIGGER refuse_tokens ON issued_tokens`);
      await t.ds.query(`DROP FUNCTION refuse_tokens()`);
    }
    // The audit event was part of the same statement: rolled back with it.
    expect(await count(`SELECT count(*) AS n FROM audit_events WHERE type = 'sso.token_issued'`)).toBe(issuedEvents);
    expect(mb.logins.length).toBe(logins);
  });

  it('signs with the new secret as soon as the target\'s secret changes', async () => {
    const browser = new MiniBrowser();
    await signIn(browser, { id: user.id, tenantId: tenant.id });
    expect((await browser.follow(`${base}/sso/mb-main?return_to=/`)).map((h) => h.status)).toEqual([302, 302, 200]);
    const rotated = 'mb-jwt-secret-ROTATED-0123456789abcdef';
    const sealed = t.app.get(SecretBox).seal(rotated, `target:${target.id}:secret`);
    await t.ds.query(`UPDATE targets SET secrets = jsonb_build_object('secret', $2::text), updated_at = now() WHERE id = $1`, [target.id, sealed]);
    mb.setJwtSecret(rotated);
    try {
      const hops = await browser.follow(`${base}/sso/mb-main?return_to=/`);
      expect(hops.map((h) => h.status)).toEqual([302, 302, 200]);
    } finally {
      const back = t.app.get(SecretBox).seal(SECRET, `target:${target.id}:secret`);
      await t.ds.query(`UPDATE targets SET secrets = jsonb_build_object('secret', $2::text), updated_at = now() WHERE id = $1`, [target.id, back]);
      mb.setJwtSecret(SECRET);
    }
  });

  describe('claims shaped by the target and the access', () => {
    it('leaves the groups claim out when none of the user\'s groups map', async () => {
      const u = await makeUser(t.ds, tenant.id, { groups: ['unmapped-group'] });
      const b = new MiniBrowser();
      await signIn(b, { id: u.id, tenantId: tenant.id });
      await b.follow(`${base}/sso/mb-main?return_to=/`);
      expect(lastLogin().email).toBe(u.email);
      expect(lastLogin().claims).not.toHaveProperty('groups');
    });

    it('uses the claim names configured on the target (and Metabase reads them)', async () => {
      const names = { email: 'mail', firstName: 'given', lastName: 'family', groups: 'mb_groups' };
      const custom = await startFakeMetabase({ jwtSecret: SECRET, claims: names });
      try {
        const tg = await makeTarget(t, {
          kind: 'metabase',
          baseUrl: custom.url,
          secret: SECRET,
          settings: { emailClaim: 'mail', firstNameClaim: 'given', lastNameClaim: 'family', groupsClaim: 'mb_groups', tokenTtlSeconds: 300 },
        });
        await grantAccess(t.ds, tenant.id, tg.id, { groupMappings: { staff: ['Everyone'] } });
        const b = new MiniBrowser();
        await signIn(b, { id: user.id, tenantId: tenant.id });
        expect((await b.follow(`${base}/sso/${tg.slug}?return_to=/`)).map((h) => h.status)).toEqual([302, 302, 200]);
        const l = custom.logins[0];
        expect(l).toMatchObject({ email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace', groups: ['Everyone'] });
        expect((l.claims.exp as number) - (l.claims.iat as number)).toBe(300);
        expect(l.claims).not.toHaveProperty('email');
      } finally {
        await custom.close();
      }
    });

    it('sends @tenant only to a Metabase with tenants on (and it accepts it)', async () => {
      const mt = await startFakeMetabase({ jwtSecret: SECRET, tenantsEnabled: true });
      try {
        const tg = await makeTarget(t, { kind: 'metabase', baseUrl: mt.url, secret: SECRET, settings: { tenantsEnabled: true } });
        await grantAccess(t.ds, tenant.id, tg.id, { settings: { metabaseTenantSlug: 'acme_eu' } });
        const b = new MiniBrowser();
        await signIn(b, { id: user.id, tenantId: tenant.id });
        expect((await b.follow(`${base}/sso/${tg.slug}?return_to=/`)).map((h) => h.status)).toEqual([302, 302, 200]);
        expect(mt.logins[0]).toMatchObject({ tenant: 'acme_eu', tenantAttributes: { region: 'tenant-region', plan: 'gold' } });
      } finally {
        await mt.close();
      }
    });

    it('shared-account mode: Metabase sees the client\'s account; the real user travels as attributes', async () => {
      const client = await makeTenant(t.ds, { name: 'Globex' });
      const worker = await makeUser(t.ds, client.id, { email: 'homer@globex.example', attributes: { role: 'operator', locale: 'en-US' }, groups: ['analysts'] });
      const mbShared = await startFakeMetabase({ jwtSecret: SECRET });
      try {
        const tg = await makeTarget(t, { kind: 'metabase', baseUrl: mbShared.url, secret: SECRET });
        await grantAccess(t.ds, client.id, tg.id, {
          groupMappings: { analysts: ['Globex'] },
          settings: { sharedAccount: { email: 'globex@clients.example.com', firstName: 'Globex', lastName: 'Shared' } },
        });
        const b = new MiniBrowser();
        await signIn(b, { id: worker.id, tenantId: client.id });
        expect((await b.follow(`${base}/sso/${tg.slug}?return_to=/`)).map((h) => h.status)).toEqual([302, 302, 200]);
        const l = mbShared.logins[0];
        expect(l).toMatchObject({ email: 'globex@clients.example.com', firstName: 'Globex', lastName: 'Shared', groups: ['Globex'] });
        expect(l.attributes).toMatchObject({ user_email: 'homer@globex.example', role: 'operator', locale: 'en-US' });
        const [ev] = await t.ds.query(`SELECT details FROM audit_events WHERE type = 'sso.token_issued' AND details->>'jti' = $1`, [l.claims.jti]);
        expect(ev.details).toMatchObject({ userId: worker.id, sharedAccount: 'globex@clients.example.com' });
      } finally {
        await mbShared.close();
      }
    });
  });

  describe('login page hint', () => {
    it('names the tenant only from the IdP URI (?tenant=), never by guessing who uses the target', async () => {
      const shared = await makeTarget(t, { kind: 'metabase', baseUrl: mb.url, secret: SECRET });
      await grantAccess(t.ds, tenant.id, shared.id);
      const anon = new MiniBrowser();
      // One tenant only has access: still not revealed to an anonymous visitor.
      const unhinted = new URL((await anon.get(`${base}/sso/${shared.slug}?return_to=/`)).location!);
      expect(unhinted.searchParams.get('tenant')).toBeNull();
      const hinted = new URL((await anon.get(`${base}/sso/${shared.slug}?tenant=${tenant.slug}&return_to=/q/1?x=1&y=2`)).location!);
      expect(hinted.searchParams.get('tenant')).toBe(tenant.slug);
      expect(hinted.searchParams.get('next')).toBe(`/sso/${shared.slug}?return_to=${encodeURIComponent('/q/1?x=1&y=2')}`);
    });
  });

  describe('logout (BI_LOGOUT)', () => {
    it('lists <metabase>/auth/logout for the Metabase targets a session used, and loading it ends the Metabase session', async () => {
      const browser = new MiniBrowser();
      const session = await signIn(browser, { id: user.id, tenantId: tenant.id });
      await browser.follow(`${base}/sso/mb-main?return_to=/`);
      const [s] = await t.ds.query(`SELECT targets_used FROM sessions WHERE id = $1`, [session.id]);
      const biLogout = t.app.get<BiLogout>(BI_LOGOUT);
      const urls = await biLogout.urlsFor({ tenantId: tenant.id, targetsUsed: s.targets_used });
      expect(urls).toEqual([`${mb.url}/auth/logout`]);
      expect(await biLogout.urlsFor({ tenantId: tenant.id, targetsUsed: [] })).toEqual([]);
      expect((await browser.get(`${mb.url}/question/1`)).status).toBe(200);
      await browser.get(urls[0]);
      expect((await browser.get(`${mb.url}/question/1`)).status).toBe(302);
    });

    it('knows a target\'s logout landing page for tenants with access only', async () => {
      const tg = await makeTarget(t, { kind: 'metabase', baseUrl: mb.url, secret: SECRET, settings: { logoutLandingUrl: 'https://app.example.com/bye' } });
      await grantAccess(t.ds, tenant.id, tg.id);
      const biLogout = t.app.get<BiLogout>(BI_LOGOUT);
      expect(await biLogout.isTargetLandingPage('https://app.example.com/bye', tenant.id)).toBe(true);
      expect(await biLogout.isTargetLandingPage('https://app.example.com/other', tenant.id)).toBe(false);
      expect(await biLogout.isTargetLandingPage('https://app.example.com/bye', (await makeTenant(t.ds)).id)).toBe(false);
      expect(await biLogout.isTargetLandingPage('not a url', tenant.id)).toBe(false);
    });
  });

  it('prunes expired token records in batches, keeping live and recently expired ones', async () => {
    const now = Math.floor(Date.now() / 1000);
    const old = now - PRUNE_MARGIN_SECONDS - 10;
    await t.ds.query(
      `INSERT INTO issued_tokens (jti, target_id, tenant_id, user_id, session_id, iat, exp)
       SELECT gen_random_uuid(), $1, $2, $3, NULL, $4::bigint, $4::bigint - 40 FROM generate_series(1, 12000)`,
      [target.id, tenant.id, user.id, old],
    );
    const recent = now - 60; // expired, but within the margin
    await t.ds.query(
      `INSERT INTO issued_tokens (jti, target_id, tenant_id, user_id, iat, exp) VALUES (gen_random_uuid(), $1, $2, $3, $4::bigint, $4::bigint + 30)`,
      [target.id, tenant.id, user.id, recent],
    );
    const keep = await count(`SELECT count(*) AS n FROM issued_tokens WHERE exp >= $1`, [now - PRUNE_MARGIN_SECONDS]);
    const pruned = await t.app.get(IssuedTokensPruner).prune(now);
    expect(pruned).toBe(12000);
    expect(await count(`SELECT count(*) AS n FROM issued_tokens`)).toBe(keep);
    expect(await t.app.get(IssuedTokensPruner).prune(now)).toBe(0);
  });

  it('keeps the JOSE header to HS256 (no kid, no other algorithm)', async () => {
    const browser = new MiniBrowser();
    await signIn(browser, { id: user.id, tenantId: tenant.id });
    const res = await browser.get(`${base}/sso/mb-main?return_to=/`);
    const jwt = new URL(res.location!).searchParams.get('jwt')!;
    expect(decodeProtectedHeader(jwt)).toEqual({ alg: 'HS256', typ: 'JWT' });
  });
});
