import { createHash, randomUUID } from 'node:crypto';
import { decodeJwt } from 'jose';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { ConsumedAssertionsPruner } from '../../src/inbound/consumed-assertions-pruner';
import { OidcIssuers } from '../../src/inbound/oidc-issuers';
import { MetricsService } from '../../src/metrics/metrics.service';
import { ensureGroup, grantAccess, makeApiKey, makeTarget, makeTenant, makeUser } from '../factories';
import { FakeMetabase, MiniBrowser, startFakeMetabase } from '../fakes/metabase';
import { createTestApp, TestApp } from '../setup/app';
import { issuerKey, OidcProviderProcess, startOidcProvider } from '../support/oidc-provider';

/**
 * A host app that signs its users in with an OIDC provider hands us the token it already
 * holds. The provider is oidc-provider (panva's certified library) in its own process: its
 * discovery document and JWKS are what we verify against; tokens are signed with its keys.
 * The service runs in this process (the production pipeline) on real Postgres.
 */
const MB_SECRET = 'mb-jwt-secret-for-trusted-issuer-tests-0123';
const CLIENT_ID = 'host-app';
const HOST_APP_SECRET = 'host-app-client-secret-0123456789abcdef';
/** The host app's own redirect URI at its provider (never fetched: the test reads the code off the redirect). */
const HOST_APP_CALLBACK = 'http://127.0.0.1:9/callback';

describe('hand-off with a trusted issuer (oidc-provider)', () => {
  let t: TestApp;
  let mb: FakeMetabase;
  let op: OidcProviderProcess;
  let other: OidcProviderProcess;
  let globalKey: string;
  let target: { id: string; slug: string };
  let tenant: { id: string; slug: string };

  beforeAll(async () => {
    [op, other] = await Promise.all([
      // The host app is a client of its provider: it signs its users in there and holds their ID tokens.
      startOidcProvider({ clients: [{ client_id: CLIENT_ID, client_secret: HOST_APP_SECRET, redirect_uris: [HOST_APP_CALLBACK], grant_types: ['authorization_code'], response_types: ['code'] }] }),
      startOidcProvider(),
    ]);
    t = await createTestApp();
    const base = await t.listen();
    mb = await startFakeMetabase({ jwtSecret: MB_SECRET, idpUri: `${base}/sso/mb-ti` });
    target = await makeTarget(t, { kind: 'metabase', slug: 'mb-ti', baseUrl: mb.url, secret: MB_SECRET });
    globalKey = await makeApiKey(t.ds);
    tenant = await makeTenant(t.ds);
    await grantAccess(t.ds, tenant.id, target.id, { groupMappings: { analysts: ['Analysts'] } });
    await ensureGroup(t.ds, tenant.id, 'analysts');
    await request(t.http)
      .post(`/api/v1/tenants/${tenant.id}/trusted-issuers`)
      .set(admin())
      .send({ issuer: op.issuer, audience: CLIENT_ID, claimGroups: 'app_metadata.groups', jitProvisioning: true, syncGroups: true })
      .expect(201);
  }, 120_000);
  afterAll(async () => {
    await mb?.close();
    await t?.close();
    await Promise.all([op?.stop(), other?.stop()]);
  });

  const admin = () => ({ Authorization: `Bearer ${globalKey}` });
  const now = () => Math.floor(Date.now() / 1000);
  const count = async (sql: string, params: unknown[] = []) => Number((await t.ds.query(sql, params))[0].n);
  const lastDenial = async () =>
    (await t.ds.query(`SELECT type, details FROM audit_events WHERE type IN ('handoff.denied', 'handoff.replay') ORDER BY id DESC LIMIT 1`))[0] as {
      type: string;
      details: Record<string, any>;
    };
  const idToken = (claims: Record<string, unknown> = {}, p: OidcProviderProcess = op, opts: Parameters<OidcProviderProcess['sign']>[1] = {}) =>
    p.sign({ sub: randomUUID(), aud: CLIENT_ID, iat: now(), exp: now() + 3600, email: `u-${randomUUID().slice(0, 8)}@host.example`, ...claims }, opts);
  const post = (assertion: string) => request(t.http).post(`/sso/${target.slug}?response=json`).type('form').send({ assertion });
  /** As a browser submits the host app's form: answered by the hand-off fast path. */
  const browserPost = (assertion: string) =>
    request(t.http).post(`/sso/${target.slug}`).type('form').set('Accept', 'text/html').send({ assertion, return_to: '/dashboard/1' });
  const fastPath = async (outcome: string) => {
    const m = await t.app.get(MetricsService).registry.getSingleMetric('embed_idp_handoff_fast_path_total')!.get();
    return m.values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
  };
  const sso = (assertion: string) => request(t.http).get(`/sso/${target.slug}`).query({ assertion, response: 'json' });

  describe('admin API (global key only)', () => {
    it('creates, lists, updates and deletes; refuses tenant keys, symmetric algorithms, http off loopback, a second tenant for the same issuer and audience', async () => {
      const tn = await makeTenant(t.ds);
      const path = `/api/v1/tenants/${tn.id}/trusted-issuers`;
      const scoped = await makeApiKey(t.ds, tn.id);
      expect((await request(t.http).get(path).set({ Authorization: `Bearer ${scoped}` })).status).toBe(403);
      const bad = async (body: object, message: RegExp) => {
        const res = await request(t.http).post(path).set(admin()).send(body);
        expect({ status: res.status, message: res.body.message }).toEqual({ status: 400, message: expect.stringMatching(message) });
      };
      await bad({ issuer: 'http://idp.example.com', audience: 'x' }, /issuer must be an https URL/);
      await bad({ issuer: 'https://idp.example.com', audience: 'x', algorithms: ['HS256'] }, /asymmetric only/);
      await bad({ issuer: 'https://idp.example.com', audience: 'x', algorithms: ['none'] }, /asymmetric only/);
      await bad({ issuer: 'https://idp.example.com', audience: 'x', claimGroups: 'has space' }, /Groups claim must be a claim name/);
      await bad({ issuer: 'https://idp.example.com', audience: 'x', maxTokenAgeSeconds: 10 ** 9 }, /Maximum token age \(seconds\) must be at most 86400/);
      await bad({ issuer: 'https://idp.example.com' }, /Audience must not be empty/);
      // The same (issuer, audience) as another tenant's: a token must name one organization.
      const taken = await request(t.http).post(path).set(admin()).send({ issuer: op.issuer, audience: CLIENT_ID });
      expect({ status: taken.status, error: taken.body.error }).toEqual({ status: 409, error: 'trusted_issuer_taken' });

      const created = await request(t.http).post(path).set(admin()).send({ issuer: 'https://idp.example.com/', audience: 'api://x', algorithms: ['ES256', 'RS256'] }).expect(201);
      expect(created.body).toMatchObject({ issuer: 'https://idp.example.com/', audience: 'api://x', algorithms: ['ES256', 'RS256'], claimEmail: 'email', claimGroups: null, maxTokenAgeSeconds: 300, jitProvisioning: false });
      const patched = await request(t.http).patch(`${path}/${created.body.id}`).set(admin()).send({ claimGroups: 'realm_access.roles', jitProvisioning: true }).expect(200);
      expect(patched.body).toMatchObject({ claimGroups: 'realm_access.roles', jitProvisioning: true, audience: 'api://x' });
      expect((await request(t.http).get(path).set(admin()).expect(200)).body).toHaveLength(1);
      await request(t.http).delete(`${path}/${created.body.id}`).set(admin()).expect(204);
      await request(t.http).delete(`${path}/${created.body.id}`).set(admin()).expect(404);
      expect(await count(`SELECT count(*) AS n FROM audit_events WHERE tenant_id = $1 AND type LIKE 'trusted_issuer.%'`, [tn.id])).toBe(3);
    });
  });

  describe('a token from the trusted issuer', () => {
    it('signs in exactly as the HS256 assertion does: JIT with the mapped groups, then Metabase', async () => {
      const email = `jit-${randomUUID().slice(0, 8)}@host.example`;
      const token = await idToken({ email, given_name: 'Jo', family_name: 'Host', app_metadata: { groups: ['analysts', 'unknown'] } });
      const res = await post(token);
      expect(res.status).toBe(200);
      expect(res.body.jwt).toEqual(expect.any(String));
      expect(String(res.headers['set-cookie'])).toContain('eidp_session=');
      const [user] = await t.ds.query(`SELECT id, first_name, last_name FROM users WHERE tenant_id = $1 AND email = $2`, [tenant.id, email]);
      expect(user).toMatchObject({ first_name: 'Jo', last_name: 'Host' });
      const groups = await t.ds.query(`SELECT g.name FROM group_members m JOIN groups g ON g.id = m.group_id WHERE m.user_id = $1`, [user.id]);
      expect(groups).toEqual([{ name: 'analysts' }]);
      const [accepted] = await t.ds.query(`SELECT details FROM audit_events WHERE type = 'handoff.accepted' ORDER BY id DESC LIMIT 1`);
      expect(accepted.details).toMatchObject({ email, source: 'trusted_issuer', created: true });
    });

    it('an ID token oidc-provider issued to the host app (authorization code + PKCE, no jti) hands off as it is, once', async () => {
      const email = `real-${randomUUID().slice(0, 8)}@host.example`;
      // The host app signs its user in at its provider (the provider's development login page).
      const verifier = randomUUID() + randomUUID();
      const authorize = new URL(`${op.issuer}/auth`);
      authorize.search = new URLSearchParams({
        response_type: 'code', client_id: CLIENT_ID, redirect_uri: HOST_APP_CALLBACK, scope: 'openid email profile', state: 's', nonce: randomUUID(),
        code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
      }).toString();
      const b = new MiniBrowser();
      let hop = await b.get(authorize.toString());
      for (let i = 0; i < 12 && !hop.location?.startsWith(HOST_APP_CALLBACK); i++) {
        if (hop.status >= 300 && hop.status < 400) {
          hop = await b.get(new URL(hop.location!, hop.url).toString());
          continue;
        }
        expect(hop.status).toBe(200);
        const action = new URL(/<form[^>]*action="([^"]+)"/.exec(hop.text)![1].replace(/&amp;/g, '&'), hop.url).toString();
        const prompt = /name="prompt" value="(\w+)"/.exec(hop.text)![1];
        hop = await b.post(action, prompt === 'login' ? { prompt, login: email, password: 'anything' } : { prompt });
      }
      const code = new URL(hop.location!).searchParams.get('code')!;
      const tokens = await fetch(((await (await fetch(`${op.issuer}/.well-known/openid-configuration`)).json()) as { token_endpoint: string }).token_endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${HOST_APP_SECRET}`).toString('base64')}` },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: HOST_APP_CALLBACK, code_verifier: verifier }).toString(),
      });
      expect(tokens.status).toBe(200);
      const { id_token: idTokenIssued } = (await tokens.json()) as { id_token: string };
      expect(decodeJwt(idTokenIssued)).toMatchObject({ iss: op.issuer, aud: CLIENT_ID, email, email_verified: true });
      expect(decodeJwt(idTokenIssued).jti).toBeUndefined();

      // The host app hands it to us, as a browser's form post.
      const res = await browserPost(idTokenIssued);
      expect(res.status).toBe(302);
      expect(res.headers.location).toMatch(new RegExp(`^${mb.url}/auth/sso\\?jwt=`));
      const [accepted] = await t.ds.query(`SELECT details FROM audit_events WHERE type = 'handoff.accepted' ORDER BY id DESC LIMIT 1`);
      expect(accepted.details).toMatchObject({ email, source: 'trusted_issuer', created: true, jti: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
      expect(await count(`SELECT count(*) AS n FROM users WHERE tenant_id = $1 AND email = $2`, [tenant.id, email])).toBe(1);
      // Accepted once: by its hash, as it has no jti.
      const again = await post(idTokenIssued);
      expect({ status: again.status, error: again.body.error }).toEqual({ status: 401, error: 'replay' });
    });

    it('stays accepted once when the issuer is deleted and added again (a new row): jti and hash are the issuer\'s, not the row\'s', async () => {
      const tn = await makeTenant(t.ds);
      await grantAccess(t.ds, tn.id, target.id);
      const aud = `readd-${randomUUID().slice(0, 8)}`;
      const add = async () =>
        (await request(t.http).post(`/api/v1/tenants/${tn.id}/trusted-issuers`).set(admin()).send({ issuer: op.issuer, audience: aud, jitProvisioning: true }).expect(201)).body.id as string;
      const first = await add();
      const withJti = await idToken({ aud, jti: randomUUID() });
      const withoutJti = await idToken({ aud });
      expect((await post(withJti)).status).toBe(200);
      expect((await post(withoutJti)).status).toBe(200);
      await request(t.http).delete(`/api/v1/tenants/${tn.id}/trusted-issuers/${first}`).set(admin()).expect(204);
      expect(await add()).not.toBe(first);
      for (const token of [withJti, withoutJti]) {
        const again = await post(token);
        expect({ status: again.status, error: again.body.error }).toEqual({ status: 401, error: 'replay' });
      }
    });

    it('during a rolling upgrade, a token the previous release spent (keyed by the issuer\'s row) is a replay here, and one spent here is recorded under that key too', async () => {
      const tn = await makeTenant(t.ds);
      await grantAccess(t.ds, tn.id, target.id);
      const aud = `roll-${randomUUID().slice(0, 8)}`;
      const rowId = (await request(t.http).post(`/api/v1/tenants/${tn.id}/trusted-issuers`).set(admin()).send({ issuer: op.issuer, audience: aud, jitProvisioning: true }).expect(201)).body.id as string;
      // Spent on a process of the previous release: it recorded oidc:<issuer row>:<jti>.
      const jti = randomUUID();
      await t.ds.query(`INSERT INTO handoff_consumed_assertions (tenant_id, jti, exp) VALUES ($1, $2, $3)`, [tn.id, `oidc:${rowId}:${jti}`, now() + 600]);
      const spentThere = await post(await idToken({ aud, jti }));
      expect({ status: spentThere.status, error: spentThere.body.error }).toEqual({ status: 401, error: 'replay' });
      // Spent here: the previous release's key is taken as well, so its processes refuse it.
      const token = await idToken({ aud });
      expect((await post(token)).status).toBe(200);
      const hash = createHash('sha256').update(token).digest('hex');
      expect(await count(`SELECT count(*) AS n FROM handoff_consumed_assertions WHERE tenant_id = $1 AND jti = $2`, [tn.id, `oidc:${rowId}:sha256:${hash}`])).toBe(1);
    });

    it('stays spent when the issuer moves to another organization: a token is spent for the issuer, whichever tenant trusts it', async () => {
      const [from, to] = [await makeTenant(t.ds), await makeTenant(t.ds)];
      for (const tn of [from, to]) await grantAccess(t.ds, tn.id, target.id);
      const aud = `move-${randomUUID().slice(0, 8)}`;
      const add = async (tn: { id: string }) =>
        (await request(t.http).post(`/api/v1/tenants/${tn.id}/trusted-issuers`).set(admin()).send({ issuer: op.issuer, audience: aud, jitProvisioning: true }).expect(201)).body.id as string;
      const first = await add(from);
      const email = `mover-${randomUUID().slice(0, 8)}@host.example`;
      const withJti = await idToken({ aud, email, jti: randomUUID() });
      const withoutJti = await idToken({ aud, email });
      expect((await post(withJti)).status).toBe(200);
      expect((await post(withoutJti)).status).toBe(200);
      await request(t.http).delete(`/api/v1/tenants/${from.id}/trusted-issuers/${first}`).set(admin()).expect(204);
      await add(to);
      // At /login/handoff: no BI tool whose identity the first organization already holds.
      const handoff = (assertion: string) => request(t.http).post('/login/handoff').type('form').send({ assertion, next: '/account' });
      for (const token of [withJti, withoutJti]) {
        const again = await handoff(token);
        expect(again.status).toBe(401);
        expect((await lastDenial()).details).toMatchObject({ reason: 'replay' });
      }
      // Nothing was made in the organization the issuer moved to.
      expect(await count(`SELECT count(*) AS n FROM users WHERE tenant_id = $1`, [to.id])).toBe(0);
      // A fresh token of the issuer signs in there.
      expect((await handoff(await idToken({ aud, email }))).status).toBe(303);
      expect(await count(`SELECT count(*) AS n FROM users WHERE tenant_id = $1`, [to.id])).toBe(1);
    });

    it('stays spent when an operator raises the age limit after the token was pruned: kept until any allowed limit would refuse it', async () => {
      const tn = await makeTenant(t.ds);
      await grantAccess(t.ds, tn.id, target.id);
      const aud = `age-${randomUUID().slice(0, 8)}`;
      const row = (await request(t.http).post(`/api/v1/tenants/${tn.id}/trusted-issuers`).set(admin()).send({ issuer: op.issuer, audience: aud, jitProvisioning: true }).expect(201)).body;
      expect(row.maxTokenAgeSeconds).toBe(300);
      // An ID token living an hour (Auth0's default is 10 h), its sign-in 250 s ago: within 300 s.
      const iat = now() - 250;
      const token = await idToken({ aud, iat, exp: iat + 3600 });
      expect((await post(token)).status).toBe(200);
      // Ten minutes on, the pruner has run (simulated: everything it would drop by then) ...
      await t.app.get(ConsumedAssertionsPruner).prune(-600);
      // ... and the operator raises the limit to an hour: the token is within it again.
      await request(t.http).patch(`/api/v1/tenants/${tn.id}/trusted-issuers/${row.id}`).set(admin()).send({ maxTokenAgeSeconds: 3600 }).expect(200);
      const again = await post(token);
      expect({ status: again.status, error: again.body.error }).toEqual({ status: 401, error: 'replay' });
    });

    it('at /login/handoff too (POST and GET): opens a session and goes to next', async () => {
      const res = await request(t.http).post('/login/handoff').type('form').send({ assertion: await idToken(), next: '/account' });
      expect(res.status).toBe(303);
      expect(res.headers.location).toMatch(/\/account$/);
      expect(String(res.headers['set-cookie'])).toContain('eidp_session=');
      const viaLink = await request(t.http).get('/login/handoff').query({ assertion: await idToken(), next: '/account' });
      expect(viaLink.status).toBe(303);
      expect(String(viaLink.headers['set-cookie'])).toContain('eidp_session=');
    });

    it('at GET /sso/<target>?assertion= too: signs in and answers the Metabase JWT', async () => {
      const res = await sso(await idToken());
      expect(res.status).toBe(200);
      expect(res.body.jwt).toEqual(expect.any(String));
      expect(String(res.headers['set-cookie'])).toContain('eidp_session=');
    });

    it('is accepted once: a replay (by jti, and by the token hash when there is no jti) is refused and audited', async () => {
      for (const claims of [{ jti: randomUUID() }, {}]) {
        const token = await idToken(claims);
        expect((await post(token)).status).toBe(200);
        const again = await sso(token);
        expect({ status: again.status, error: again.body.error }).toEqual({ status: 401, error: 'replay' });
        expect((await lastDenial()).type).toBe('handoff.replay');
      }
    });
  });

  describe('refusals: each distinct in the audit, nothing created', () => {
    const cases: { name: string; reason: string; code: string; status?: number; build: () => Promise<string> }[] = [
      {
        name: 'alg none',
        reason: 'algorithm_not_allowed',
        code: 'bad_signature',
        build: async () => {
          const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
          return `${enc({ alg: 'none', kid: op.keys[0].kid })}.${enc({ iss: op.issuer, aud: CLIENT_ID, iat: now(), exp: now() + 60, email: 'none@host.example' })}.`;
        },
      },
      {
        name: 'HS256 signed with the issuer\'s public key as the secret',
        reason: 'algorithm_not_allowed',
        code: 'bad_signature',
        build: async () => {
          const pem = createPublicKey({ key: op.keys[0].jwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
          return jwt.sign({ iss: op.issuer, aud: CLIENT_ID, email: 'hs@host.example' }, pem, { algorithm: 'HS256', expiresIn: 60, keyid: op.keys[0].kid });
        },
      },
      { name: "RS256 with another issuer's kid and key", reason: 'unknown_kid', code: 'bad_signature', build: () => idToken({}, op, { key: other.keys[0] }) },
      { name: 'a forged signature under the right kid', reason: 'bad_signature', code: 'bad_signature', build: async () => { const [h, p] = (await idToken({ email: 'x@host.example' })).split('.'); const forged = (await idToken({}, other)).split('.')[2]; return `${h}.${p}.${forged}`; } },
      { name: 'another audience', reason: 'wrong_audience', code: 'bad_signature', build: () => idToken({ aud: 'someone-else' }) },
      { name: 'an issuer nobody trusts', reason: 'unknown_tenant', code: 'bad_signature', build: () => other.sign({ aud: CLIENT_ID, iat: now(), exp: now() + 60, email: 'x@host.example' }) },
      { name: 'expired', reason: 'assertion_expired', code: 'assertion_expired', build: () => idToken({ iat: now() - 3600, exp: now() - 600 }) },
      { name: 'signed in too long ago (auth_time)', reason: 'token_too_old', code: 'token_too_old', build: () => idToken({ auth_time: now() - 3600 }) },
      {
        name: 'a crit header',
        reason: 'unsupported_crit',
        code: 'unsupported_crit',
        status: 400,
        // jose will not sign a crit it does not know: jsonwebtoken, with the issuer's own key.
        build: async () => {
          const pem = createPrivateKey({ key: op.keys[0].jwk as never, format: 'jwk' }).export({ type: 'pkcs8', format: 'pem' }) as string;
          return jwt.sign({ iss: op.issuer, aud: CLIENT_ID, email: 'crit@host.example' }, pem, {
            algorithm: 'RS256',
            expiresIn: 60,
            header: { alg: 'RS256', kid: op.keys[0].kid, crit: ['urn:x'], 'urn:x': 1 } as jwt.JwtHeader,
          });
        },
      },
      { name: 'an unverified email', reason: 'email_not_verified', code: 'email_not_verified', status: 403, build: () => idToken({ email_verified: false }) },
      { name: 'no email', reason: 'invalid_email', code: 'invalid_email', status: 400, build: () => idToken({ email: undefined }) },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const before = await count(`SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM sessions) + (SELECT count(*) FROM issued_tokens) AS n`);
        const res = await post(await c.build());
        expect({ status: res.status, error: res.body.error }).toEqual({ status: c.status ?? 401, error: c.code });
        expect((await lastDenial()).details.reason).toBe(c.reason);
        expect(await count(`SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM sessions) + (SELECT count(*) FROM issued_tokens) AS n`)).toBe(before);
      });
      // A browser's form post is answered by the hand-off fast path (in front of Express):
      // the same rule refuses it, audited the same, nothing created.
      it(`${c.name}, posted by a browser (the hand-off fast path)`, async () => {
        const before = await count(`SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM sessions) + (SELECT count(*) FROM issued_tokens) AS n`);
        const handedOver = await fastPath('handed_over');
        const res = await browserPost(await c.build());
        expect(res.status).toBe(c.status ?? 401);
        expect(res.headers['content-type']).toMatch(/^text\/html/);
        expect(res.headers['set-cookie']).toBeUndefined();
        expect(await fastPath('handed_over')).toBe(handedOver + 1);
        expect((await lastDenial()).details.reason).toBe(c.reason);
        expect(await count(`SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM sessions) + (SELECT count(*) FROM issued_tokens) AS n`)).toBe(before);
      });
    }
  });

  describe('posted by a browser: the hand-off fast path applies every rule to a trusted issuer\'s token', () => {
    it('signs in (JIT, mapped groups) and goes to Metabase; the same token again is a replay', async () => {
      const email = `fast-${randomUUID().slice(0, 8)}@host.example`;
      const token = await idToken({ email, app_metadata: { groups: ['analysts'] } });
      const answered = await fastPath('answered');
      const res = await browserPost(token);
      expect(res.status).toBe(302);
      expect(res.headers.location).toMatch(new RegExp(`^${mb.url}/auth/sso\\?jwt=`));
      expect(String(res.headers['set-cookie'])).toContain('eidp_session=');
      expect(await fastPath('answered')).toBe(answered + 1);
      const [accepted] = await t.ds.query(`SELECT details FROM audit_events WHERE type = 'handoff.accepted' ORDER BY id DESC LIMIT 1`);
      expect(accepted.details).toMatchObject({ email, source: 'trusted_issuer', created: true, target: target.slug });
      const [user] = await t.ds.query(`SELECT id FROM users WHERE tenant_id = $1 AND email = $2`, [tenant.id, email]);
      expect(await t.ds.query(`SELECT g.name FROM group_members m JOIN groups g ON g.id = m.group_id WHERE m.user_id = $1`, [user.id])).toEqual([{ name: 'analysts' }]);

      const again = await browserPost(token);
      expect(again.status).toBe(401);
      expect(again.headers['set-cookie']).toBeUndefined();
      expect((await lastDenial()).type).toBe('handoff.replay');
    });

    it.each([
      ['an email whose identity another tenant owns on this BI instance', 409, 'identity_conflict', 'identity_owned_elsewhere'],
      ['JIT for an email in a domain another tenant owns', 409, 'email_domain_owned', 'email_domain_owned'],
      ['a tenant without access to the target', 403, 'no_access', 'no_access'],
    ])('%s: refused as for an HS256 assertion, nothing created, the token spent', async (what, status, code, reason) => {
      const tn = await makeTenant(t.ds);
      const owner = await makeTenant(t.ds);
      const aud = `own-${randomUUID().slice(0, 8)}`;
      await request(t.http).post(`/api/v1/tenants/${tn.id}/trusted-issuers`).set(admin()).send({ issuer: op.issuer, audience: aud, jitProvisioning: true }).expect(201);
      let email = `person-${randomUUID().slice(0, 8)}@host.example`;
      if (code !== 'no_access') await grantAccess(t.ds, tn.id, target.id);
      if (code === 'identity_conflict') {
        await t.ds.query(`INSERT INTO bi_identities (instance, email, tenant_id, claimed_via) VALUES ($1, $2, $3, 'user')`, [new URL(mb.url).origin, email, owner.id]);
      }
      if (code === 'email_domain_owned') {
        const domain = `${owner.slug}-owned.example`;
        await t.ds.query(`INSERT INTO email_domains (domain, tenant_id) VALUES ($1, $2)`, [domain, owner.id]);
        email = `someone@${domain}`;
      }
      const token = await idToken({ aud, email });
      const res = await browserPost(token);
      expect({ what, status: res.status }).toEqual({ what, status });
      expect(res.text).toContain(`${status} ${code}`);
      expect(res.headers['set-cookie']).toBeUndefined();
      expect(await count(`SELECT count(*) AS n FROM users WHERE tenant_id = $1`, [tn.id])).toBe(0);
      expect(await count(`SELECT count(*) AS n FROM sessions WHERE tenant_id = $1`, [tn.id])).toBe(0);
      const [denied] = await t.ds.query(`SELECT tenant_id, details FROM audit_events WHERE type = 'handoff.denied' ORDER BY id DESC LIMIT 1`);
      expect({ tenant: denied.tenant_id, reason: denied.details.reason }).toEqual({ tenant: tn.id, reason });
      // Presented and refused after its id was taken: never usable later.
      const again = await post(token);
      expect({ status: again.status, error: again.body.error }).toEqual({ status: 401, error: 'replay' });
    });

    it('with JIT off, an unknown email is refused (unknown_user) and nothing is created; a known one signs in and its groups are synced', async () => {
      const tn = await makeTenant(t.ds);
      await grantAccess(t.ds, tn.id, target.id, { groupMappings: { analysts: ['Analysts'] } });
      await ensureGroup(t.ds, tn.id, 'analysts');
      const aud = `no-jit-${randomUUID().slice(0, 8)}`;
      await request(t.http)
        .post(`/api/v1/tenants/${tn.id}/trusted-issuers`)
        .set(admin())
        .send({ issuer: op.issuer, audience: aud, claimGroups: 'app_metadata.groups', jitProvisioning: false, syncGroups: true })
        .expect(201);
      const stranger = `stranger-${randomUUID().slice(0, 8)}@host.example`;
      const [handedOver, answered] = [await fastPath('handed_over'), await fastPath('answered')];
      const refused = await browserPost(await idToken({ aud, email: stranger }));
      expect(refused.status).toBe(403);
      expect(await fastPath('handed_over')).toBe(handedOver + 1);
      expect((await lastDenial()).details).toMatchObject({ reason: 'unknown_user', email: stranger });
      expect(await count(`SELECT count(*) AS n FROM users WHERE email = $1`, [stranger])).toBe(0);

      const known = await makeUser(t.ds, tn.id, { email: `known-${randomUUID().slice(0, 8)}@host.example` });
      const res = await browserPost(await idToken({ aud, email: known.email, app_metadata: { groups: ['analysts'] } }));
      expect(res.status).toBe(302);
      expect(await fastPath('answered')).toBe(answered + 1);
      expect(await t.ds.query(`SELECT g.name FROM group_members m JOIN groups g ON g.id = m.group_id WHERE m.user_id = $1`, [known.id])).toEqual([{ name: 'analysts' }]);
    });
  });

  it('key rotation at the issuer (new kid): the JWKS is refetched once and the new key verifies', async () => {
    const oidc = t.app.get(OidcIssuers);
    expect((await post(await idToken())).status).toBe(200);
    const fetchesBefore = oidc.fetches;
    const rotated = await issuerKey();
    await op.rotate([rotated, ...op.keys]);
    // jose's cooldown: an unknown kid refetches at most once per 30 s; make the last fetch old enough.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'setTimeout', 'setInterval', 'queueMicrotask', 'performance', 'clearTimeout', 'clearInterval', 'hrtime'], now: Date.now() + 31_000 });
    try {
      const results = await Promise.all(Array.from({ length: 5 }, async () => (await post(await idToken({}, op, { key: rotated }))).status));
      expect(results).toEqual([200, 200, 200, 200, 200]);
    } finally {
      jest.useRealTimers();
    }
    // Five concurrent tokens with the new kid: one JWKS request.
    expect(oidc.fetches - fetchesBefore).toBe(1);
    // An unknown kid again right away: no refetch within the cooldown.
    const stranger = await issuerKey();
    const refused = await post(await idToken({}, op, { key: stranger }));
    expect(refused.status).toBe(401);
    expect((await lastDenial()).details.reason).toBe('unknown_kid');
    expect(oidc.fetches - fetchesBefore).toBe(1);
  });

  describe('an issuer whose JWKS endpoint (or discovery) misbehaves: bounded, refused, no crash', () => {
    let server: http.Server;
    let issuer: string;
    let mode: 'hang' | 'huge' | 'discovery-hang' | 'discovery-huge' = 'hang';
    let requests = 0;
    const key = issuerKey();
    /** 5 MB of JSON (a valid start, then padding). */
    const huge = (res: http.ServerResponse) => {
      res.setHeader('content-type', 'application/json');
      res.write('{"keys":[],"pad":"');
      const chunk = 'x'.repeat(64 * 1024);
      for (let i = 0; i < 80; i++) res.write(chunk);
      res.end('"}');
    };
    beforeAll(async () => {
      server = http.createServer((req, res) => {
        requests++;
        if (req.url === '/.well-known/openid-configuration') {
          if (mode === 'discovery-hang') return;
          if (mode === 'discovery-huge') return huge(res);
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks-${mode}` }));
        } else if (req.url === '/jwks-huge') {
          huge(res);
        }
        // /jwks-hang: never answers.
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    });

    const what = { hang: 'a JWKS that never answers times out', huge: 'a 5 MB JWKS is cut off', 'discovery-hang': 'a discovery document that never comes times out', 'discovery-huge': 'a 5 MB discovery document is cut off' };
    for (const m of ['hang', 'huge', 'discovery-hang', 'discovery-huge'] as const) {
      it(`${what[m]}: 503 issuer_unavailable, the issuer not asked again for a while, and the service still answers`, async () => {
        mode = m;
        const tn = await makeTenant(t.ds);
        const aud = `aud-${m}`;
        await request(t.http).post(`/api/v1/tenants/${tn.id}/trusted-issuers`).set(admin()).send({ issuer: `${issuer}/${m}`.replace(`/${m}`, ''), audience: aud }).expect(201);
        const k = await key;
        const { SignJWT } = await import('jose');
        const token = await new SignJWT({ iss: issuer, aud, email: 'x@host.example' }).setProtectedHeader({ alg: 'RS256', kid: k.kid }).setIssuedAt().setExpirationTime('1m').sign(k.privateKey);
        const started = Date.now();
        const res = await post(token);
        expect({ status: res.status, error: res.body.error }).toEqual({ status: 503, error: 'issuer_unavailable' });
        expect(Date.now() - started).toBeLessThan(8000);
        expect((await lastDenial()).details.reason).toBe('issuer_unavailable');
        // Right after the failure: refused without asking the issuer (a broken issuer is not hammered).
        const asked = requests;
        const again = await post(await new SignJWT({ iss: issuer, aud, email: 'y@host.example' }).setProtectedHeader({ alg: 'RS256', kid: k.kid }).setIssuedAt().setExpirationTime('1m').sign(k.privateKey));
        expect({ status: again.status, error: again.body.error, asked: requests - asked }).toEqual({ status: 503, error: 'issuer_unavailable', asked: 0 });
        await request(t.http).get('/health/ready').expect(200);
        // Clean up: the next mode uses the same issuer URL.
        await t.ds.query(`DELETE FROM trusted_issuers WHERE tenant_id = $1`, [tn.id]);
        // The discovery cache and backoff are per issuer: forget them for the next mode.
        (t.app.get(OidcIssuers) as unknown as { entries: Map<string, unknown>; failedAt: Map<string, number> }).entries.clear();
        (t.app.get(OidcIssuers) as unknown as { failedAt: Map<string, number> }).failedAt.clear();
      }, 30_000);
    }
  });
});
