import request from 'supertest';
import { SessionsService } from '../../src/auth/sessions.service';
import { FakeGrafana, startFakeGrafana } from '../fakes/grafana';
import { grantAccess, makeApiKey, makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { grafanaSetupGuide } from '../../src/products/grafana/setup-guide';

/**
 * Grafana end to end: /sso/<target>?return_to=/d/<uid> -> 302 <grafana>/d/<uid>?auth_token=..
 * -> a fake Grafana verifying with jsonwebtoken and our JWKS (cached as Grafana caches it)
 * signs the user in. Then key rotation with such verifiers signing in all along.
 * The publication delay is 3 s here (70 min in production), the verifiers' cache 2 s (60 min).
 */
const DELAY_S = 3;

describe('Grafana JWT sign-in (e2e)', () => {
  let t: TestApp;
  let base: string;
  let key: string;
  let fake: FakeGrafana;
  let target: { id: string; slug: string };
  let tenant: { id: string; slug: string };

  beforeAll(async () => {
    t = await createTestApp({ env: { SIGNING_KEY_PUBLICATION_DELAY: String(DELAY_S) } });
    base = await t.listen();
    key = await makeApiKey(t.ds, null);
    const slug = `grafana-${Date.now().toString(36)}`;
    fake = await startFakeGrafana({ jwksUrl: `${base}/targets/${slug}/jwks.json`, cacheTtlMs: 2000 });
    const created = await admin('post', '/targets').send({ slug, kind: 'grafana', baseUrl: fake.url, settings: { alg: 'ES256' } }).expect(201);
    target = { id: created.body.id, slug };
    tenant = await makeTenant(t.ds);
    await grantAccess(t.ds, tenant.id, target.id, { groupMappings: { analysts: ['Viewer'], editors: ['Editor', 'Viewer'] } });
  });
  afterAll(async () => {
    await fake?.close();
    await t?.close();
  });

  function admin(method: 'get' | 'post', path: string) {
    return request(t.http)[method](`/api/v1${path}`).set('Authorization', `Bearer ${key}`);
  }

  async function signIn(groups: string[] = ['editors']) {
    const user = await makeUser(t.ds, tenant.id, { groups });
    const s = await t.app.get(SessionsService).create({ id: user.id, tenantId: tenant.id }, { ip: null, userAgent: 'jest' });
    return { user, cookie: `eidp_session=${s.token}` };
  }

  /** The browser: our redirect, then the fake Grafana's answer to it (and its page with the session). */
  async function visit(cookie: string, returnTo = '/d/abc123/sales?orgId=1') {
    const res = await request(t.http).get(`/sso/${target.slug}?return_to=${returnTo}`).set('Cookie', cookie);
    if (res.status !== 302) return { ours: res, grafana: null, page: null };
    const grafana = await fetch(res.headers.location, { redirect: 'manual' });
    const page = grafana.status === 302 ? await fetch(new URL(grafana.headers.get('location')!, fake.url), { headers: { cookie: grafana.headers.get('set-cookie')!.split(';')[0] } }) : null;
    return { ours: res, grafana, page };
  }

  it('lands on the Grafana dashboard signed in, with the mapped role; the token was recorded and audited first', async () => {
    const { user, cookie } = await signIn(['editors']);
    const { ours, grafana, page } = await visit(cookie);
    const loc = new URL(ours.headers.location);
    expect(`${loc.origin}${loc.pathname}`).toBe(`${fake.url}/d/abc123/sales`);
    expect(loc.searchParams.get('orgId')).toBe('1');
    expect(grafana!.status).toBe(302);
    expect(await page!.json()).toEqual({ path: '/d/abc123/sales', user: { login: user.email, email: user.email, role: 'Editor' } });
    const login = fake.logins.at(-1)!;
    expect(login.claims).toMatchObject({ sub: user.email, email: user.email, login: user.email, role: 'Editor' });
    expect(typeof login.claims.name).toBe('string');
    const jti = login.claims.jti as string;
    const [row] = await t.ds.query(`SELECT target_id, user_id, iat, exp FROM issued_tokens WHERE jti = $1`, [jti]);
    expect(row).toMatchObject({ target_id: target.id, user_id: user.id });
    const [ev] = await t.ds.query(`SELECT details FROM audit_events WHERE type = 'sso.token_issued' AND details->>'jti' = $1`, [jti]);
    expect(ev).toBeDefined();
  });

  it('serves the target JWKS and the service-wide one, with cache headers and no private parts', async () => {
    const own = await request(t.http).get(`/targets/${target.slug}/jwks.json`).expect(200);
    expect(own.headers['cache-control']).toBe('public, max-age=300');
    expect(own.body.keys).toHaveLength(1);
    expect(own.body.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(own.body.keys[0].d).toBeUndefined();
    const all = await request(t.http).get('/.well-known/jwks.json').expect(200);
    expect(all.body.keys.map((k: { kid: string }) => k.kid)).toContain(own.body.keys[0].kid);
    await request(t.http).get('/targets/no-such-target/jwks.json').expect(404);
    const [sealed] = await t.ds.query(`SELECT private_key_enc FROM target_signing_keys WHERE target_id = $1`, [target.id]);
    expect(sealed.private_key_enc).toMatch(/^v1\./);
    expect(sealed.private_key_enc).not.toContain('PRIVATE KEY');
  });

  it("binds each token to its Grafana: with the service-wide JWKS and the setup guide's expect_claims, another target's token is refused", async () => {
    const other = await startFakeGrafana({ jwksUrl: `${base}/.well-known/jwks.json` });
    const otherSlug = `grafana-b-${Date.now().toString(36)}`;
    try {
      const created = await admin('post', '/targets').send({ slug: otherSlug, kind: 'grafana', baseUrl: other.url }).expect(201);
      await grantAccess(t.ds, tenant.id, created.body.id, { groupMappings: { editors: ['Editor'] } });
      // Grafana A, told the service-wide JWKS (holding B's keys too) and A's expect_claims line.
      const ini = grafanaSetupGuide({ slug: target.slug, baseUrl: fake.url, settings: {} }, base, []).items[0].value!;
      const expect_claims = JSON.parse(/^expect_claims = (.*)$/m.exec(ini)![1]) as Record<string, string>;
      expect(expect_claims).toEqual({ aud: fake.url });
      const strictA = await startFakeGrafana({ jwksUrl: `${base}/.well-known/jwks.json`, expectClaims: expect_claims });
      try {
        const { cookie } = await signIn();
        const mint = async (slug: string) => {
          const res = await request(t.http).get(`/sso/${slug}?return_to=/d/x`).set('Cookie', cookie).expect(302);
          return new URL(res.headers.location).searchParams.get('auth_token')!;
        };
        expect(await strictA.check(await mint(target.slug))).toMatchObject({ ok: true });
        // Without expect_claims the signature alone would let B's token in: that is what the line stops.
        const fromB = await mint(otherSlug);
        expect(await other.check(fromB)).toMatchObject({ ok: true });
        expect(await strictA.check(fromB)).toEqual({ ok: false, reason: 'unexpected_aud' });
      } finally {
        await strictA.close();
      }
    } finally {
      await other.close();
    }
  });

  it('refuses: no session (login page), no access, unknown target, disabled target, return_to off Grafana', async () => {
    const before = fake.logins.length;
    const anon = await request(t.http).get(`/sso/${target.slug}?return_to=/d/x`).expect(302);
    expect(anon.headers.location).toMatch(/^\/login\?/);
    const other = await makeTenant(t.ds);
    const stranger = await makeUser(t.ds, other.id, {});
    const s = await t.app.get(SessionsService).create({ id: stranger.id, tenantId: other.id }, { ip: null, userAgent: 'jest' });
    await request(t.http).get(`/sso/${target.slug}?return_to=/d/x`).set('Cookie', `eidp_session=${s.token}`).expect(403);
    const { cookie } = await signIn();
    await request(t.http).get(`/sso/no-such-grafana?return_to=/d/x`).set('Cookie', cookie).expect(404);
    await request(t.http).get(`/sso/${target.slug}?return_to=https://evil.example/d/x`).set('Cookie', cookie).expect(400);
    await t.ds.query(`UPDATE targets SET disabled = true WHERE id = $1`, [target.id]);
    try {
      await request(t.http).get(`/sso/${target.slug}?return_to=/d/x`).set('Cookie', cookie).expect(403);
    } finally {
      await t.ds.query(`UPDATE targets SET disabled = false WHERE id = $1`, [target.id]);
    }
    expect(fake.logins.length).toBe(before);
    const reasons = (await t.ds.query(`SELECT details->>'reason' AS r FROM audit_events WHERE type = 'sso.denied' AND details->>'target' = $1`, [target.slug])).map((x: { r: string }) => x.r);
    expect(reasons).toEqual(expect.arrayContaining(['no_access', 'invalid_return_to', 'target_disabled']));
  });

  it('rotates keys without a failed sign-in for a verifier caching the JWKS (and a verifier caching longer than the delay would fail)', async () => {
    const slow = await startFakeGrafana({ jwksUrl: `${base}/targets/${target.slug}/jwks.json`, cacheTtlMs: 60 * 60 * 1000 });
    try {
      const { cookie } = await signIn(['analysts']);
      const tokens: string[] = [];
      const once = async () => {
        const res = await request(t.http).get(`/sso/${target.slug}?return_to=/d/x`).set('Cookie', cookie).expect(302);
        const token = new URL(res.headers.location).searchParams.get('auth_token')!;
        tokens.push(token);
        return { ok: await fake.check(token), slow: await slow.check(token) };
      };
      const first = await once();
      expect(first.ok).toMatchObject({ ok: true });
      const oldKid = (first.ok as { login: { kid: string } }).login.kid;

      const rotated = await admin('post', `/targets/${target.slug}/keys/rotate`).expect(201);
      expect(rotated.body).toMatchObject({ state: 'next', alg: 'ES256' });
      await admin('post', `/targets/${target.slug}/keys/rotate`).expect(409);
      const [audit] = await t.ds.query(`SELECT details FROM audit_events WHERE type = 'target.key_rotated' AND details->>'kid' = $1`, [rotated.body.kid]);
      expect(audit.details.retiring).toEqual([oldKid]);

      const seen = new Set<string>();
      let slowFailures = 0;
      const until = Date.now() + (DELAY_S + 3) * 1000;
      while (Date.now() < until) {
        const r = await once();
        expect(r.ok).toMatchObject({ ok: true });
        seen.add((r.ok as { login: { kid: string } }).login.kid);
        if (!r.slow.ok) slowFailures++;
        await new Promise((res) => setTimeout(res, 250));
      }
      expect([...seen].sort()).toEqual([oldKid, rotated.body.kid].sort());
      expect(slowFailures).toBeGreaterThan(0);
      // The old key is still published (tokens it signed have not all expired).
      const keys = (await admin('get', `/targets/${target.slug}/keys`).expect(200)).body.items;
      expect(keys.map((k: { kid: string; state: string }) => [k.kid, k.state])).toEqual([
        [rotated.body.kid, 'active'],
        [oldKid, 'retiring'],
      ]);
      expect(keys[0].publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
      const jwks = (await request(t.http).get(`/targets/${target.slug}/jwks.json`).expect(200)).body.keys.map((k: { kid: string }) => k.kid);
      expect(jwks.sort()).toEqual([oldKid, rotated.body.kid].sort());
    } finally {
      await slow.close();
    }
  }, 30_000);
});
