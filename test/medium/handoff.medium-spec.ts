import jwt from 'jsonwebtoken';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { SessionsService } from '../../src/auth/sessions.service';
import { CONSUMED_PRUNE_MARGIN_SECONDS, ConsumedAssertionsPruner } from '../../src/inbound/consumed-assertions-pruner';
import { ensureGroup, grantAccess, makeApiKey, makeTarget, makeTenant, makeUser } from '../factories';
import { FakeMetabase, MiniBrowser, startFakeMetabase } from '../fakes/metabase';
import { createTestApp, TestApp } from '../setup/app';
import { signAssertion } from '../support/handoff';

/**
 * Host-app hand-off: a host app signs an assertion, the browser brings it to
 * /sso/<target> (GET or POST form) or /login/handoff, and is signed in and sent on to the
 * BI tool exactly as after a login. Every refusal is distinct, audited, and creates nothing.
 */
const MB_SECRET = 'mb-jwt-secret-for-handoff-tests-0123456789';
const SECRET = 'host-app-handoff-secret-0123456789abcdef';
const SECRET_2 = 'host-app-handoff-secret-rotated-9876543210';

describe('host-app hand-off', () => {
  let t: TestApp;
  let base: string;
  let mb: FakeMetabase;
  let globalKey: string;
  let target: { id: string; slug: string };

  beforeAll(async () => {
    // TRUST_PROXY: a test may speak from another address (X-Forwarded-For).
    t = await createTestApp({ env: { TRUST_PROXY: 'loopback' } });
    base = await t.listen();
    mb = await startFakeMetabase({ jwtSecret: MB_SECRET, idpUri: `${base}/sso/mb-handoff` });
    target = await makeTarget(t, { kind: 'metabase', slug: 'mb-handoff', baseUrl: mb.url, secret: MB_SECRET });
    globalKey = await makeApiKey(t.ds);
  });
  afterAll(async () => {
    await mb.close();
    await t.close();
  });

  const admin = () => ({ Authorization: `Bearer ${globalKey}` });
  const count = async (sql: string, params: unknown[] = []) => Number((await t.ds.query(sql, params))[0].n);
  const auditsOf = (tenantId: string | null, type: string) =>
    t.ds.query(`SELECT details FROM audit_events WHERE type = $1 AND tenant_id IS NOT DISTINCT FROM $2 ORDER BY id`, [type, tenantId]) as Promise<
      { details: Record<string, any> }[]
    >;

  /** A tenant with hand-off configured through the admin API, access to the target, groups. */
  async function handoffTenant(p: { jit?: boolean; syncGroups?: boolean; access?: boolean; disabled?: boolean } = {}) {
    const tenant = await makeTenant(t.ds, { disabled: p.disabled });
    await request(t.http).post(`/api/v1/tenants/${tenant.id}/handoff/secrets`).set(admin()).send({ secret: SECRET }).expect(201);
    await request(t.http)
      .patch(`/api/v1/tenants/${tenant.id}/handoff`)
      .set(admin())
      .send({ jitProvisioning: p.jit ?? false, syncGroups: p.syncGroups ?? false })
      .expect(200);
    if (p.access !== false) await grantAccess(t.ds, tenant.id, target.id, { groupMappings: { analysts: ['Analysts'], staff: ['Staff'] } });
    await ensureGroup(t.ds, tenant.id, 'analysts');
    await ensureGroup(t.ds, tenant.id, 'staff');
    return tenant;
  }

  describe('admin API (global key only; secrets write-only)', () => {
    it('sets switches and secrets, never shows a secret, keeps two during a rotation, refuses tenant keys', async () => {
      const tenant = await makeTenant(t.ds);
      const scoped = await makeApiKey(t.ds, tenant.id);
      const refused = await request(t.http).get(`/api/v1/tenants/${tenant.id}/handoff`).set({ Authorization: `Bearer ${scoped}` });
      expect(refused.status).toBe(403);
      expect(refused.body.error).toBe('global_key_required');
      await request(t.http).post(`/api/v1/tenants/${tenant.id}/handoff/secrets`).set({ Authorization: `Bearer ${scoped}` }).send({ secret: SECRET }).expect(403);

      expect((await request(t.http).get(`/api/v1/tenants/${tenant.id}/handoff`).set(admin()).expect(200)).body).toEqual({
        jitProvisioning: false,
        syncGroups: false,
        secrets: [],
      });
      const short = await request(t.http).post(`/api/v1/tenants/${tenant.id}/handoff/secrets`).set(admin()).send({ secret: 'short' });
      expect(short.status).toBe(400);
      expect(short.body.message).toContain('Secret must be 32 to 1024 characters long');
      await request(t.http).patch(`/api/v1/tenants/${tenant.id}/handoff`).set(admin()).send({ jitProvisioning: 'yes' }).expect(400);
      await request(t.http).get(`/api/v1/tenants/${randomUUID()}/handoff`).set(admin()).expect(404);

      const first = await request(t.http).post(`/api/v1/tenants/${tenant.id}/handoff/secrets`).set(admin()).send({ secret: SECRET }).expect(201);
      const second = await request(t.http).post(`/api/v1/tenants/${tenant.id}/handoff/secrets`).set(admin()).send({ secret: SECRET_2 }).expect(201);
      const third = await request(t.http).post(`/api/v1/tenants/${tenant.id}/handoff/secrets`).set(admin()).send({ secret: `${SECRET}-third` }).expect(201);
      const view = await request(t.http).patch(`/api/v1/tenants/${tenant.id}/handoff`).set(admin()).send({ jitProvisioning: true }).expect(200);
      expect(view.body.jitProvisioning).toBe(true);
      expect(view.body.syncGroups).toBe(false);
      // Newest first, at most two: the third rotation retired the first secret.
      expect(view.body.secrets.map((s: { id: string }) => s.id)).toEqual([third.body.id, second.body.id]);
      expect(JSON.stringify([first.body, second.body, third.body, view.body])).not.toContain(SECRET);
      // Sealed at rest, and not in the audit trail either.
      const stored = await t.ds.query(`SELECT secret_enc FROM handoff_secrets WHERE tenant_id = $1`, [tenant.id]);
      expect(stored).toHaveLength(2);
      for (const r of stored) expect(r.secret_enc).toMatch(/^v1\./);
      expect(JSON.stringify(await t.ds.query(`SELECT details FROM audit_events WHERE tenant_id = $1`, [tenant.id]))).not.toContain('host-app-handoff');

      await request(t.http).delete(`/api/v1/tenants/${tenant.id}/handoff/secrets/${second.body.id}`).set(admin()).expect(204);
      await request(t.http).delete(`/api/v1/tenants/${tenant.id}/handoff/secrets/${second.body.id}`).set(admin()).expect(404);
      expect((await request(t.http).get(`/api/v1/tenants/${tenant.id}/handoff`).set(admin())).body.secrets).toHaveLength(1);
    });
  });

  describe('a successful hand-off', () => {
    it('GET /sso/<target>?assertion=..: signs the known user in, replaces the old session, continues to Metabase', async () => {
      const tenant = await handoffTenant();
      const user = await makeUser(t.ds, tenant.id, { email: 'known@host.example', groups: ['analysts'] });
      const browser = new MiniBrowser();
      // The browser arrives with someone else's live session: it must be replaced.
      const other = await makeUser(t.ds, tenant.id);
      const old = await t.app.get(SessionsService).create({ id: other.id, tenantId: tenant.id }, { ip: null, userAgent: null });
      browser.jar(base).set('eidp_session', old.token);

      const assertion = signAssertion(SECRET, tenant.slug, { email: 'Known@Host.example' });
      const hops = await browser.follow(`${base}/sso/${target.slug}?assertion=${assertion}&return_to=/dashboard/7`);
      expect(hops.map((h) => h.status)).toEqual([302, 302, 200]);
      expect(new URL(hops[0].location!).pathname).toBe('/auth/sso');
      expect(JSON.parse(hops[2].text)).toEqual({ page: '/dashboard/7' });
      const login = mb.logins[mb.logins.length - 1];
      expect(login).toMatchObject({ email: 'known@host.example', groups: ['Analysts'] });

      const cookie = browser.jar(base).cookie('eidp_session')!;
      expect(cookie.value).not.toBe(old.token);
      expect(cookie.attributes.httponly).toBe(true);
      expect(await t.app.get(SessionsService).resolve(old.token)).toBeNull();
      const now = await t.app.get(SessionsService).resolve(cookie.value);
      expect(now?.user.id).toBe(user.id);
      const [accepted] = await auditsOf(tenant.id, 'handoff.accepted');
      expect(accepted.details).toMatchObject({ userId: user.id, email: 'known@host.example', created: false, target: target.slug });
      expect(await count(`SELECT count(*) AS n FROM handoff_consumed_assertions WHERE tenant_id = $1`, [tenant.id])).toBe(1);
    });

    it('POST /sso/<target> as a form; the same assertion again is a replay: 401 page, audited, no session, no token', async () => {
      const tenant = await handoffTenant();
      const user = await makeUser(t.ds, tenant.id, { email: 'poster@host.example' });
      const assertion = signAssertion(SECRET, tenant.slug, { sub: 'poster@host.example' });
      const browser = new MiniBrowser();
      const ok = await browser.post(`${base}/sso/${target.slug}`, { assertion, return_to: '/question/3' });
      expect(ok.status).toBe(302);
      expect(new URL(ok.location!).origin).toBe(mb.url);
      const tokensBefore = await count(`SELECT count(*) AS n FROM issued_tokens WHERE user_id = $1`, [user.id]);
      const sessionsBefore = await count(`SELECT count(*) AS n FROM sessions WHERE user_id = $1`, [user.id]);
      expect([tokensBefore, sessionsBefore]).toEqual([1, 1]);

      for (const again of [() => new MiniBrowser().post(`${base}/sso/${target.slug}`, { assertion, return_to: '/question/3' }),
        () => new MiniBrowser().get(`${base}/sso/${target.slug}?assertion=${assertion}&return_to=/x`)]) {
        const replay = await again();
        expect(replay.status).toBe(401);
        expect(replay.headers.get('content-type')).toContain('text/html');
        expect(replay.text).toContain('This link was already used');
        expect(replay.text).toContain('401 replay');
        expect(replay.headers.get('set-cookie')).toBeNull();
      }
      expect(await count(`SELECT count(*) AS n FROM issued_tokens WHERE user_id = $1`, [user.id])).toBe(1);
      expect(await count(`SELECT count(*) AS n FROM sessions WHERE user_id = $1`, [user.id])).toBe(1);
      const replays = await auditsOf(tenant.id, 'handoff.replay');
      expect(replays).toHaveLength(2);
      expect(replays[0].details).toMatchObject({ reason: 'replay', jti: (jwt.decode(assertion) as { jti: string }).jti });
    });

    it('response=json: the SDK gets {jwt} and the session cookie', async () => {
      const tenant = await handoffTenant();
      await makeUser(t.ds, tenant.id, { email: 'sdk@host.example' });
      const res = await request(t.http).get(`/sso/${target.slug}?assertion=${signAssertion(SECRET, tenant.slug, { email: 'sdk@host.example' })}&response=json`);
      expect(res.status).toBe(200);
      expect(Object.keys(res.body)).toEqual(['jwt']);
      expect((jwt.verify(res.body.jwt, MB_SECRET) as { email: string }).email).toBe('sdk@host.example');
      expect(String(res.headers['set-cookie'])).toContain('eidp_session=');

      const replay = await request(t.http).get(`/sso/${target.slug}?assertion=${signAssertion(SECRET, tenant.slug, { email: 'nobody@host.example' })}&response=json`).set('Accept', 'text/html');
      expect(replay.status).toBe(403);
      expect(replay.body).toMatchObject({ error: 'unknown_user' });
    });

    it('/login/handoff opens a session and goes to a safe `next` only', async () => {
      const tenant = await handoffTenant();
      const user = await makeUser(t.ds, tenant.id, { email: 'plain@host.example' });
      const a = await request(t.http).get(`/login/handoff?assertion=${signAssertion(SECRET, tenant.slug, { email: user.email })}&next=${encodeURIComponent('/account?x=1')}`);
      expect(a.status).toBe(303);
      expect(a.headers.location).toBe('/account?x=1');
      const token = /eidp_session=([^;]+)/.exec(String(a.headers['set-cookie']))![1];
      expect((await t.app.get(SessionsService).resolve(token))?.user.id).toBe(user.id);

      const b = await request(t.http)
        .post('/login/handoff')
        .type('form')
        .send({ assertion: signAssertion(SECRET, tenant.slug, { email: user.email }), next: '//evil.example/x' });
      expect(b.status).toBe(303);
      expect(b.headers.location).toBe('/account');
    });

    it('rotation: assertions signed with either of the two current secrets are accepted, a retired one is not', async () => {
      const tenant = await handoffTenant();
      await makeUser(t.ds, tenant.id, { email: 'rot@host.example' });
      await request(t.http).post(`/api/v1/tenants/${tenant.id}/handoff/secrets`).set(admin()).send({ secret: SECRET_2 }).expect(201);
      const go = (secret: string) => request(t.http).get(`/login/handoff?assertion=${signAssertion(secret, tenant.slug, { email: 'rot@host.example' })}`);
      expect((await go(SECRET)).status).toBe(303);
      expect((await go(SECRET_2)).status).toBe(303);
      const third = `${SECRET_2}-third`;
      await request(t.http).post(`/api/v1/tenants/${tenant.id}/handoff/secrets`).set(admin()).send({ secret: third }).expect(201);
      expect((await go(SECRET)).body).toMatchObject({ error: 'bad_signature' });
      expect((await go(SECRET_2)).status).toBe(303);
      expect((await go(third)).status).toBe(303);
    });
  });

  describe('just-in-time provisioning and group sync', () => {
    it('creates the user from the claims (only existing groups), through the users service', async () => {
      const tenant = await handoffTenant({ jit: true });
      const assertion = signAssertion(SECRET, tenant.slug, {
        email: 'new@host.example',
        given_name: 'Grace',
        family_name: 'Hopper',
        groups: ['analysts', 'no-such-group'],
        attributes: { region: 'emea', level: 3 },
      });
      const browser = new MiniBrowser();
      const res = await browser.post(`${base}/sso/${target.slug}`, { assertion, return_to: '/' });
      expect(res.status).toBe(302);
      expect((await browser.follow(res.location!)).map((h) => h.status)).toEqual([302, 200]);
      const [u] = await t.ds.query(`SELECT id, first_name, last_name, attributes, password_hash FROM users WHERE tenant_id = $1 AND email = 'new@host.example'`, [tenant.id]);
      expect(u).toMatchObject({ first_name: 'Grace', last_name: 'Hopper', attributes: { region: 'emea', level: 3 }, password_hash: null });
      const groups = await t.ds.query(`SELECT g.name FROM group_members gm JOIN groups g ON g.id = gm.group_id WHERE gm.user_id = $1`, [u.id]);
      expect(groups.map((g: { name: string }) => g.name)).toEqual(['analysts']);
      expect(mb.logins[mb.logins.length - 1]).toMatchObject({ email: 'new@host.example', firstName: 'Grace', lastName: 'Hopper', groups: ['Analysts'] });
      const [created] = await auditsOf(tenant.id, 'user.created');
      expect(created.details).toMatchObject({ email: 'new@host.example', groups: ['analysts'] });
      expect((await auditsOf(tenant.id, 'handoff.accepted'))[0].details.created).toBe(true);
    });

    it('attributes are held to the admin API rules: refused, nothing created', async () => {
      const tenant = await handoffTenant({ jit: true });
      const res = await request(t.http).get(
        `/login/handoff?assertion=${signAssertion(SECRET, tenant.slug, { email: 'attr@host.example', attributes: { exp: 1, nested: { a: 1 } } })}`,
      );
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_claims');
      expect(JSON.stringify(res.body.details.problems)).toContain('reserved');
      expect(await count(`SELECT count(*) AS n FROM users WHERE tenant_id = $1`, [tenant.id])).toBe(0);
    });

    it('syncGroups on: each hand-off replaces the groups with the claim; without the claim they stay', async () => {
      const tenant = await handoffTenant({ syncGroups: true });
      const user = await makeUser(t.ds, tenant.id, { email: 'sync@host.example', groups: ['analysts'] });
      const groupsOf = async () =>
        (await t.ds.query(`SELECT g.name FROM group_members gm JOIN groups g ON g.id = gm.group_id WHERE gm.user_id = $1 ORDER BY g.name`, [user.id])).map(
          (g: { name: string }) => g.name,
        );
      const go = (claims: Record<string, unknown>) => request(t.http).get(`/login/handoff?assertion=${signAssertion(SECRET, tenant.slug, { email: user.email, ...claims })}`).expect(303);
      await go({ groups: ['staff', 'unknown'] });
      expect(await groupsOf()).toEqual(['staff']);
      await go({});
      expect(await groupsOf()).toEqual(['staff']);
      await go({ groups: [] });
      expect(await groupsOf()).toEqual([]);
      const [synced] = await auditsOf(tenant.id, 'group.memberships_synced');
      expect(synced.details).toMatchObject({ userId: user.id, added: ['staff'], removed: ['analysts'] });

      // Off: the claim is ignored for a known user.
      const off = await handoffTenant({ syncGroups: false });
      const kept = await makeUser(t.ds, off.id, { email: 'kept@host.example', groups: ['analysts'] });
      await request(t.http).get(`/login/handoff?assertion=${signAssertion(SECRET, off.slug, { email: kept.email, groups: ['staff'] })}`).expect(303);
      expect(await t.ds.query(`SELECT 1 FROM group_members gm JOIN groups g ON g.id = gm.group_id WHERE gm.user_id = $1 AND g.name = 'analysts'`, [kept.id])).toHaveLength(1);
    });
  });

  describe('refusals: each distinct, audited, nothing created', () => {
    type Case = {
      name: string;
      status: number;
      code: string;
      /** Builds the assertion (and anything else) for a fresh hand-off tenant. */
      build(tenant: { id: string; slug: string }): Promise<string> | string;
      tenant?: { jit?: boolean; access?: boolean; disabled?: boolean };
      /** Whether the tenant is known to the audit event (null tenant otherwise). */
      audited?: 'tenant' | 'none';
      /** The jti is spent by a refusal after it was consumed (a retry is a replay). */
      consumed?: boolean;
      /** The audit event's reason, when it differs from the code. */
      reason?: string;
    };
    const now = () => Math.floor(Date.now() / 1000);
    const EMAIL = 'refused@host.example';
    const cases: Case[] = [
      { name: 'a bad signature', status: 401, code: 'bad_signature', build: (tn) => signAssertion('not-the-secret-0123456789abcdef0123', tn.slug, { email: EMAIL }) },
      // Answered as a bad signature, so an anonymous caller cannot tell which slugs exist.
      { name: 'an unknown tenant', status: 401, code: 'bad_signature', reason: 'unknown_tenant', audited: 'none', build: () => signAssertion(SECRET, 'no-such-tenant', { email: EMAIL }) },
      { name: 'no iss', status: 401, code: 'bad_signature', reason: 'unknown_tenant', audited: 'none', build: () => signAssertion(SECRET, 'x', { iss: undefined, email: EMAIL }) },
      { name: 'a disabled tenant', status: 403, code: 'tenant_disabled', tenant: { disabled: true }, build: (tn) => signAssertion(SECRET, tn.slug, { email: EMAIL }) },
      { name: 'an expired assertion', status: 401, code: 'assertion_expired', build: (tn) => signAssertion(SECRET, tn.slug, { email: EMAIL, iat: now() - 200, exp: now() - 1 }) },
      { name: 'a too long-lived assertion', status: 401, code: 'assertion_too_long_lived', build: (tn) => signAssertion(SECRET, tn.slug, { email: EMAIL, exp: now() + 301 }) },
      { name: 'an iat in the future', status: 401, code: 'iat_in_future', build: (tn) => signAssertion(SECRET, tn.slug, { email: EMAIL, iat: now() + 90, exp: now() + 120 }) },
      { name: 'an nbf in the future', status: 401, code: 'assertion_not_yet_valid', build: (tn) => signAssertion(SECRET, tn.slug, { email: EMAIL, nbf: now() + 90, exp: now() + 200 }) },
      {
        name: 'a crit header',
        status: 400,
        code: 'unsupported_crit',
        build: (tn) => signAssertion(SECRET, tn.slug, { email: EMAIL }, { header: { alg: 'HS256', crit: ['exp'] } as unknown as jwt.JwtHeader }),
      },
      { name: 'no exp', status: 400, code: 'invalid_times', build: (tn) => signAssertion(SECRET, tn.slug, { email: EMAIL, exp: undefined }) },
      { name: 'a missing jti', status: 400, code: 'missing_jti', build: (tn) => signAssertion(SECRET, tn.slug, { email: EMAIL, jti: undefined }) },
      { name: 'a missing email', status: 400, code: 'invalid_email', build: (tn) => signAssertion(SECRET, tn.slug, {}) },
      { name: 'an invalid email', status: 400, code: 'invalid_email', build: (tn) => signAssertion(SECRET, tn.slug, { email: 'not an email' }) },
      { name: 'alg none', status: 401, code: 'bad_signature', build: (tn) => signAssertion('', tn.slug, { email: EMAIL }, { algorithm: 'none' }) },
      { name: 'an oversized assertion', status: 400, code: 'assertion_too_large', audited: 'none', build: (tn) => signAssertion(SECRET, tn.slug, { email: EMAIL, pad: 'x'.repeat(9000) }) },
      { name: 'garbage', status: 400, code: 'assertion_malformed', audited: 'none', build: () => 'not.a.jwt' },
      // Text Postgres cannot store (a NUL; a lone surrogate, not UTF-8 at all) fails a whole
      // statement: refused before any, as the statements are shared with other hand-offs.
      { name: 'an iss with a NUL character', status: 400, code: 'assertion_malformed', audited: 'none', build: (tn) => signAssertion(SECRET, `${tn.slug}\u0000`, { email: EMAIL }) },
      { name: 'a jti with a lone surrogate', status: 400, code: 'assertion_malformed', audited: 'none', build: (tn) => signAssertion(SECRET, tn.slug, { email: EMAIL, jti: 'a\ud800b' }) },
      { name: 'a NUL in another claim', status: 400, code: 'assertion_malformed', audited: 'none', build: (tn) => signAssertion(SECRET, tn.slug, { email: EMAIL, given_name: 'Ada\u0000' }) },
      { name: 'a lone surrogate in a claim name', status: 400, code: 'assertion_malformed', audited: 'none', build: (tn) => signAssertion(SECRET, tn.slug, { email: EMAIL, groups: { ['x\udc00']: 1 } }) },
      {
        name: 'a disabled user',
        status: 403,
        code: 'user_disabled',
        consumed: true,
        build: async (tn) => (await makeUser(t.ds, tn.id, { email: EMAIL, disabled: true }), signAssertion(SECRET, tn.slug, { email: EMAIL })),
      },
      { name: 'JIT off and an unknown user', status: 403, code: 'unknown_user', consumed: true, build: (tn) => signAssertion(SECRET, tn.slug, { email: EMAIL }) },
      {
        name: 'a tenant without access to the target',
        status: 403,
        code: 'no_access',
        consumed: true,
        tenant: { jit: true, access: false },
        build: (tn) => signAssertion(SECRET, tn.slug, { email: EMAIL }),
      },
      {
        name: 'an email whose identity another tenant owns on this BI instance',
        status: 409,
        code: 'identity_conflict',
        reason: 'identity_owned_elsewhere',
        consumed: true,
        tenant: { jit: true },
        build: async (tn) => {
          const owner = await makeTenant(t.ds);
          await t.ds.query(`INSERT INTO bi_identities (instance, email, tenant_id, claimed_via) VALUES ($1, $2, $3, 'user')`, [
            new URL(mb.url).origin,
            `owned-${tn.slug}@host.example`,
            owner.id,
          ]);
          return signAssertion(SECRET, tn.slug, { email: `owned-${tn.slug}@host.example` });
        },
      },
      {
        name: 'a shared account (not the user\'s email) another tenant owns on this BI instance',
        status: 409,
        code: 'identity_conflict',
        reason: 'identity_owned_elsewhere',
        consumed: true,
        tenant: { jit: true },
        build: async (tn) => {
          const owner = await makeTenant(t.ds);
          const shared = `shared-${tn.slug}@host.example`;
          await t.ds.query(`UPDATE tenant_target_access SET settings = $3 WHERE tenant_id = $1 AND target_id = $2`, [tn.id, target.id, JSON.stringify({ sharedAccount: { email: shared } })]);
          await t.ds.query(`INSERT INTO bi_identities (instance, email, tenant_id, claimed_via) VALUES ($1, $2, $3, 'user')`, [new URL(mb.url).origin, shared, owner.id]);
          return signAssertion(SECRET, tn.slug, { email: EMAIL });
        },
      },
      {
        name: 'JIT for an email in a domain another tenant owns (UsersService applies it)',
        status: 409,
        code: 'email_domain_owned',
        consumed: true,
        tenant: { jit: true },
        build: async (tn) => {
          const owner = await makeTenant(t.ds);
          await t.ds.query(`INSERT INTO email_domains (domain, tenant_id) VALUES ($1, $2)`, [`${tn.slug}-owned.example`, owner.id]);
          return signAssertion(SECRET, tn.slug, { email: `someone@${tn.slug}-owned.example` });
        },
      },
    ];

    it.each(cases)('$name: $status $code', async (c) => {
      const tenant = await handoffTenant(c.tenant);
      const assertion = await c.build(tenant);
      const usersBefore = await count(`SELECT count(*) AS n FROM users WHERE tenant_id = $1`, [tenant.id]);
      const auditBefore = await count(`SELECT count(*) AS n FROM audit_events WHERE type = 'handoff.denied'`);
      const browser = new MiniBrowser();
      const res = await browser.post(`${base}/sso/${target.slug}`, { assertion, return_to: '/' });
      expect(res.status).toBe(c.status);
      expect(res.headers.get('content-type')).toContain('text/html');
      // A page for a person; the code in its reference line for support.
      expect(res.text).toContain(`${c.status} ${c.code}`);
      expect(res.headers.get('set-cookie')).toBeNull();
      // The same refusal as JSON for the SDK (GET, response=json) — or, when the refusal came
      // after the jti was consumed, a replay: a refused assertion is never usable again.
      if (assertion.length < 8000) {
        const json = await request(t.http).get(`/sso/${target.slug}?assertion=${assertion}&response=json`);
        expect({ status: json.status, code: json.body.error }).toEqual(c.consumed ? { status: 401, code: 'replay' } : { status: c.status, code: c.code });
        expect(typeof json.body.message).toBe('string');
      }
      // Nothing created: no user, no session, no token; a jti only where it was spent.
      expect(await count(`SELECT count(*) AS n FROM users WHERE tenant_id = $1`, [tenant.id])).toBe(usersBefore);
      expect(await count(`SELECT count(*) AS n FROM sessions WHERE tenant_id = $1`, [tenant.id])).toBe(0);
      expect(await count(`SELECT count(*) AS n FROM issued_tokens WHERE tenant_id = $1`, [tenant.id])).toBe(0);
      expect(await count(`SELECT count(*) AS n FROM handoff_consumed_assertions WHERE tenant_id = $1`, [tenant.id])).toBe(c.consumed ? 1 : 0);
      // Audited with the reason (the SSO step's own refusals under flow 'handoff').
      const denied = await t.ds.query(`SELECT tenant_id, details FROM audit_events WHERE type = 'handoff.denied' ORDER BY id DESC LIMIT 1`);
      expect(await count(`SELECT count(*) AS n FROM audit_events WHERE type = 'handoff.denied'`)).toBeGreaterThan(auditBefore);
      const reason = c.reason ?? c.code;
      expect(denied[0].details.reason).toBe(reason);
      expect(denied[0].tenant_id).toBe(c.audited === 'none' ? null : tenant.id);
    });

    it('a hand-off to an unknown target is a 404 and creates nothing', async () => {
      const tenant = await handoffTenant({ jit: true });
      const res = await request(t.http).post('/sso/no-such-target').type('form').set('Accept', 'text/html').send({ assertion: signAssertion(SECRET, tenant.slug, { email: EMAIL }) });
      expect(res.status).toBe(404);
      expect(await count(`SELECT count(*) AS n FROM users WHERE tenant_id = $1`, [tenant.id])).toBe(0);
    });

    it('a tenant without a hand-off secret refuses every assertion (answered as a bad signature, audited as not configured)', async () => {
      const tenant = await makeTenant(t.ds);
      const res = await request(t.http).get(`/login/handoff?assertion=${signAssertion(SECRET, tenant.slug, { email: EMAIL })}`);
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('bad_signature');
      expect((await auditsOf(tenant.id, 'handoff.denied')).map((e) => e.details.reason)).toEqual(['handoff_not_configured']);
    });

    /**
     * These routes are public: anyone may send an assertion naming any `iss`. If an unknown
     * slug, a tenant without hand-off, and a tenant with it answered differently, an anonymous
     * caller could list which organizations exist (and which use hand-off) by sending unsigned
     * guesses. All three answer exactly as a bad signature; only the audit trail tells them apart.
     */
    it('an anonymous caller cannot tell unknown tenants, tenants without hand-off and bad signatures apart', async () => {
      const configured = await handoffTenant();
      const unconfigured = await makeTenant(t.ds);
      const guess = 'not-the-secret-0123456789abcdef0123';
      const probes = {
        unknownTenant: signAssertion(guess, `no-such-${randomUUID().slice(0, 8)}`, { email: EMAIL }),
        notConfigured: signAssertion(guess, unconfigured.slug, { email: EMAIL }),
        badSignature: signAssertion(guess, configured.slug, { email: EMAIL }),
      };
      // What only a holder of the key is told apart (nbf, crit) looks the same without it.
      const crit = { header: { alg: 'HS256', crit: ['exp'] } as unknown as jwt.JwtHeader };
      const later = { email: EMAIL, nbf: Math.floor(Date.now() / 1000) + 90, exp: Math.floor(Date.now() / 1000) + 200 };
      const outsiders = {
        critUnknownTenant: signAssertion(guess, `no-such-${randomUUID().slice(0, 8)}`, { email: EMAIL }, crit),
        critConfigured: signAssertion(guess, configured.slug, { email: EMAIL }, crit),
        nbfUnknownTenant: signAssertion(guess, `no-such-${randomUUID().slice(0, 8)}`, later),
        nbfConfigured: signAssertion(guess, configured.slug, later),
      };
      // What a client sees, without what differs per request (its id).
      const seen = async (r: { status: number; headers: Record<string, string>; body: unknown; text: string }) => ({
        status: r.status,
        type: r.headers['content-type'],
        body: r.headers['content-type']?.includes('json') ? { ...(r.body as object), requestId: undefined } : r.text.replace(/[0-9a-f-]{36}|req-[\w-]+/gi, '<id>'),
      });
      // Each probe from its own address (TRUST_PROXY), so the anonymous-refusal audit budget
      // of one address is not what this test measures.
      const answers: Record<string, unknown[]> = {};
      const ips = { unknownTenant: '192.0.2.31', notConfigured: '192.0.2.32', badSignature: '192.0.2.33' };
      for (const [name, assertion] of Object.entries(probes)) {
        const ip = ips[name as keyof typeof ips];
        answers[name] = [
          await seen(await request(t.http).get(`/sso/${target.slug}?assertion=${assertion}&response=json`).set('X-Forwarded-For', ip)),
          await seen(await request(t.http).post(`/sso/${target.slug}`).type('form').set('Accept', 'text/html').set('X-Forwarded-For', ip).send({ assertion, return_to: '/' })),
          await seen(await request(t.http).get(`/login/handoff?assertion=${assertion}`).set('X-Forwarded-For', ip)),
          await seen(await request(t.http).post('/login/handoff').type('form').set('Accept', 'text/html').set('X-Forwarded-For', ip).send({ assertion })),
        ];
      }
      expect(answers.badSignature[0]).toMatchObject({ status: 401, body: { error: 'bad_signature' } });
      expect(answers.badSignature[1]).toMatchObject({ status: 401, type: expect.stringContaining('text/html') });
      expect(answers.unknownTenant).toEqual(answers.badSignature);
      expect(answers.notConfigured).toEqual(answers.badSignature);
      for (const [name, assertion] of Object.entries(outsiders)) {
        const ip = `192.0.2.${40 + Object.keys(outsiders).indexOf(name)}`;
        const seenNow = [
          await seen(await request(t.http).get(`/sso/${target.slug}?assertion=${assertion}&response=json`).set('X-Forwarded-For', ip)),
          await seen(await request(t.http).post(`/sso/${target.slug}`).type('form').set('Accept', 'text/html').set('X-Forwarded-For', ip).send({ assertion, return_to: '/' })),
          await seen(await request(t.http).get(`/login/handoff?assertion=${assertion}`).set('X-Forwarded-For', ip)),
          await seen(await request(t.http).post('/login/handoff').type('form').set('Accept', 'text/html').set('X-Forwarded-For', ip).send({ assertion })),
        ];
        expect({ name, seen: seenNow }).toEqual({ name, seen: answers.badSignature });
      }
      // Only the audit trail keeps the real reason, with the tenant where there is one.
      const audited = async (ip: string) =>
        (await t.ds.query(`SELECT tenant_id, details->>'reason' AS reason FROM audit_events WHERE type = 'handoff.denied' AND ip = $1`, [ip])) as { tenant_id: string | null; reason: string }[];
      expect(await audited(ips.unknownTenant)).toEqual(Array(4).fill({ tenant_id: null, reason: 'unknown_tenant' }));
      expect(await audited(ips.notConfigured)).toEqual(Array(4).fill({ tenant_id: unconfigured.id, reason: 'handoff_not_configured' }));
      expect(await audited(ips.badSignature)).toEqual(Array(4).fill({ tenant_id: configured.id, reason: 'bad_signature' }));
    });

    it('a POST body over the form limit is refused as too large, audited', async () => {
      for (const url of ['/login/handoff', `/sso/${target.slug}`]) {
        const before = await count(`SELECT count(*) AS n FROM audit_events WHERE type = 'handoff.denied' AND details->>'reason' = 'assertion_too_large'`);
        const res = await request(t.http).post(url).type('form').send({ assertion: 'x'.repeat(30_000) });
        expect({ url, status: res.status, code: res.body.error }).toEqual({ url, status: 400, code: 'assertion_too_large' });
        expect(await count(`SELECT count(*) AS n FROM audit_events WHERE type = 'handoff.denied' AND details->>'reason' = 'assertion_too_large'`)).toBe(before + 1);
      }
    });
  });

  it('the pruner reads the database\'s clock, not this process\'s: a process clock an hour ahead forgets nothing live', async () => {
    const tenant = await makeTenant(t.ds);
    const [{ db }] = await t.ds.query(`SELECT floor(extract(epoch FROM now()))::bigint AS db`);
    const dbNow = Number(db);
    await t.ds.query(`INSERT INTO handoff_consumed_assertions (tenant_id, jti, exp) VALUES ($1, 'live', $2), ($1, 'long-gone', $3)`, [tenant.id, dbNow + 100, dbNow - 3600]);
    const clock = jest.spyOn(Date, 'now').mockReturnValue((dbNow + 3600) * 1000);
    try {
      await t.app.get(ConsumedAssertionsPruner).prune();
    } finally {
      clock.mockRestore();
    }
    expect((await t.ds.query(`SELECT jti FROM handoff_consumed_assertions WHERE tenant_id = $1`, [tenant.id])).map((r: { jti: string }) => r.jti)).toEqual(['live']);
  });

  it('the pruner forgets consumed jtis whose assertion has expired, and only those', async () => {
    const tenant = await makeTenant(t.ds);
    const [{ db }] = await t.ds.query(`SELECT floor(extract(epoch FROM now()))::bigint AS db`);
    const nowS = Number(db);
    // Expired, but within the margin a lagging process's clock is granted: kept.
    const recent = nowS - CONSUMED_PRUNE_MARGIN_SECONDS + 30;
    await t.ds.query(`INSERT INTO handoff_consumed_assertions (tenant_id, jti, exp) VALUES ($1, 'old', $2), ($1, 'live', $3), ($1, 'recent', $4)`, [
      tenant.id, nowS - CONSUMED_PRUNE_MARGIN_SECONDS - 1, nowS + 100, recent,
    ]);
    expect(await t.app.get(ConsumedAssertionsPruner).prune()).toBeGreaterThanOrEqual(1);
    expect((await t.ds.query(`SELECT jti FROM handoff_consumed_assertions WHERE tenant_id = $1 ORDER BY jti`, [tenant.id])).map((r: { jti: string }) => r.jti)).toEqual(['live', 'recent']);
  });
});
