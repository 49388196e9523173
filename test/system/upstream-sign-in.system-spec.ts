import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Browser, chromium, Page } from 'playwright-core';
import request from 'supertest';
import { SecretBox } from '../../src/crypto/secret-box';
import { ensureGroup, grantAccess, makeApiKey, makeTarget, makeTenant, makeUser } from '../factories';
import { CookieJar, signIn } from '../support/cookie-jar';
import { FakeMetabase, MiniBrowser, startFakeMetabase } from '../fakes/metabase';
import { createTestApp, TestApp } from '../setup/app';
import { freePort } from '../setup/global-setup';
import { OidcProviderProcess, startOidcProvider } from '../support/oidc-provider';

/**
 * Company sign-in against a real OpenID Provider (oidc-provider, its own process, as the
 * tenant's IdP; its development login page accepts any login and makes it the email): in
 * Chromium, Metabase → our login page → "company account" → the email → the IdP's login page
 * → back → Metabase signed in. Then the flow's defences: state, nonce, code replay.
 */
const CHROMIUM = '/usr/bin/chromium';
const MB_SECRET = 'upstream-metabase-secret-0123456789abcdef';
const CLIENT_SECRET = 'upstream-client-secret-0123456789';
const SHOTS = path.resolve(__dirname, '..', '..', 'test-output', 'screenshots');

describe('company sign-in at the tenant\'s own IdP (oidc-provider)', () => {
  let t: TestApp;
  let base: string;
  let mb: FakeMetabase;
  let op: OidcProviderProcess;
  let browser: Browser;
  let tenantId: string;

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = await createTestApp({ env: { PORT: String(port), PUBLIC_URL: base } });
    await t.listen(port);
    op = await startOidcProvider({
      clients: [{ client_id: 'embed-idp', client_secret: CLIENT_SECRET, redirect_uris: [`${base}/login/company/callback`], grant_types: ['authorization_code'], response_types: ['code'] }],
    });
    mb = await startFakeMetabase({ jwtSecret: MB_SECRET, idpUri: `${base}/sso/mb-up` });
    const target = await makeTarget(t, { kind: 'metabase', slug: 'mb-up', baseUrl: mb.url, secret: MB_SECRET });
    const tenant = await makeTenant(t.ds, { name: 'Umbrella' });
    tenantId = tenant.id;
    await grantAccess(t.ds, tenant.id, target.id, { groupMappings: { analysts: ['Analysts'] } });
    await ensureGroup(t.ds, tenant.id, 'analysts');
    await t.ds.query(`INSERT INTO email_domains (domain, tenant_id) VALUES ('umbrella.example', $1)`, [tenant.id]);
    const key = await makeApiKey(t.ds);
    const put = await request(t.http)
      .put(`/api/v1/tenants/${tenant.id}/oidc-provider`)
      .set('Authorization', `Bearer ${key}`)
      .send({ issuer: op.issuer, clientId: 'embed-idp', clientSecret: CLIENT_SECRET, claimGroups: 'groups', jitProvisioning: true })
      .expect(200);
    expect(JSON.stringify(put.body)).not.toContain(CLIENT_SECRET);
    const [row] = await t.ds.query(`SELECT client_secret_enc FROM upstream_oidc_providers WHERE tenant_id = $1`, [tenant.id]);
    expect(row.client_secret_enc).toMatch(/^v1\./);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
    fs.mkdirSync(SHOTS, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await mb?.close();
    await t?.close();
    await op?.stop();
  });

  /** At the IdP's development login page: any login (our email), then its consent page. */
  async function signInAtIdp(page: Page, email: string, shot?: string) {
    await page.waitForURL(new RegExp(`^${op.issuer}/interaction/`));
    if (shot) await page.screenshot({ path: path.join(SHOTS, shot) });
    await page.fill('input[name=login]', email);
    await page.fill('input[name=password]', 'anything');
    await page.click('button[type=submit]');
    // The consent prompt (first sign-in of this account at this client).
    if (page.url().startsWith(`${op.issuer}/interaction/`)) await page.click('button[type=submit]');
  }

  it('Metabase → our login page → company account → the IdP → back → Metabase signed in (JIT, groups)', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${mb.url}/dashboard/5`);
      await page.waitForURL(/\/login\?/);
      for (const width of [1280, 390]) {
        await page.setViewportSize({ width, height: 800 });
        await page.screenshot({ path: path.join(SHOTS, `upstream-login-${width}.png`), fullPage: true });
      }
      await page.setViewportSize({ width: 1280, height: 800 });
      await page.click('text=Sign in with your company account');
      await page.waitForURL(/\/login\/company/);
      for (const width of [1280, 390]) {
        await page.setViewportSize({ width, height: 800 });
        await page.screenshot({ path: path.join(SHOTS, `upstream-company-email-${width}.png`), fullPage: true });
      }
      await page.fill('input[name=email]', 'alice@umbrella.example');
      await page.click('button[type=submit]');
      await signInAtIdp(page, 'alice@umbrella.example', 'upstream-idp-login.png');
      await page.waitForURL(`${mb.url}/dashboard/5`);
      expect(JSON.parse((await page.locator('body').textContent()) ?? '{}')).toEqual({ page: '/dashboard/5' });
      expect(mb.logins[mb.logins.length - 1]).toMatchObject({ email: 'alice@umbrella.example', groups: ['Analysts'] });
      // Audited as a login (the sign-in metrics and chart count it), not as a host app's hand-off.
      const [accepted] = await t.ds.query(`SELECT details FROM audit_events WHERE type = 'login.success' ORDER BY id DESC LIMIT 1`);
      expect(accepted.details).toMatchObject({ source: 'oidc_upstream', email: 'alice@umbrella.example', created: true });
      expect(await t.ds.query(`SELECT 1 FROM audit_events WHERE type = 'handoff.accepted' AND details->>'source' = 'oidc_upstream'`)).toEqual([]);

      // Signing out of a session company sign-in opened offers the IdP's end-session URL
      // (RP-Initiated Logout 1.0, from its discovery document), which leads to the IdP's page.
      await page.goto(`${base}/account`);
      await page.click('text=Sign out');
      await page.waitForURL(`${base}/logout`);
      const link = page.locator('#idp-logout');
      expect(await link.textContent()).toBe(`Also sign out of ${new URL(op.issuer).host}`);
      const endSession = ((await (await fetch(`${op.issuer}/.well-known/openid-configuration`)).json()) as { end_session_endpoint: string }).end_session_endpoint;
      const href = new URL((await link.getAttribute('href'))!);
      expect(`${href.origin}${href.pathname}`).toBe(endSession);
      expect(href.searchParams.get('client_id')).toBe('embed-idp');
      fs.mkdirSync('/tmp/shots-r2-inbound', { recursive: true });
      for (const width of [1280, 390]) {
        await page.setViewportSize({ width, height: 800 });
        await page.screenshot({ path: `/tmp/shots-r2-inbound/signed-out-idp-${width}.png`, fullPage: true });
      }
      await link.click();
      await page.waitForURL((u) => u.toString().startsWith(endSession));
      expect(await page.content()).toMatch(/sign-?out/i);
      await page.screenshot({ path: '/tmp/shots-r2-inbound/idp-end-session.png' });
    } finally {
      await context.close();
    }
  }, 120_000);

  it('a password session of the same tenant gets no IdP sign-out link', async () => {
    const password = 'a password of twelve+ chars';
    await makeUser(t.ds, tenantId, { email: 'pat@umbrella.example', password });
    const jar = new CookieJar();
    expect((await signIn(request(t.http), jar, { tenant: (await t.ds.query(`SELECT slug FROM tenants WHERE id = $1`, [tenantId]))[0].slug, email: 'pat@umbrella.example', password })).status).toBe(303);
    const out = await jar.on(request(t.http).get('/logout')).expect(200);
    expect(out.text).toContain('You are signed out');
    expect(out.text).not.toContain('idp-logout');
    expect(out.text).not.toContain('Also sign out of');
  });

  it('an email in a domain no tenant with an IdP owns goes to the password form', async () => {
    const res = await request(t.http).post('/login/company').type('form').send({ email: 'bob@elsewhere.example', next: '/account' });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/login?email=bob%40elsewhere.example&next=%2Faccount');
  });

  /**
   * Runs the flow up to the IdP's redirect to our callback, and stops there (fetch with a
   * cookie jar per origin, through the IdP's own login and consent forms): the callback URL
   * and this "browser's" state cookie, optionally re-sealed with changes.
   */
  async function callbackUrlAndState(email: string, cookieOverride?: (pending: Record<string, unknown>) => Record<string, unknown>) {
    const b = new MiniBrowser();
    let hop = await b.post(`${base}/login/company`, { email });
    for (let i = 0; i < 12 && !hop.location?.startsWith(`${base}/login/company/callback`); i++) {
      if (hop.status >= 300 && hop.status < 400) {
        hop = await b.get(hop.location!);
        continue;
      }
      expect(hop.status).toBe(200);
      const action = new URL(/<form[^>]*action="([^"]+)"/.exec(hop.text)![1].replace(/&amp;/g, '&'), hop.url).toString();
      const prompt = /name="prompt" value="(\w+)"/.exec(hop.text)![1];
      hop = await b.post(action, prompt === 'login' ? { prompt, login: email, password: 'anything' } : { prompt });
    }
    const callback = hop.location!;
    expect(callback).toContain('code=');
    const cookie = /eidp_oidc_state=([^;]+)/.exec(b.jar(base).header() ?? '')![1];
    let stateCookie = cookie;
    if (cookieOverride) {
      const box = t.app.get(SecretBox);
      stateCookie = box.seal(JSON.stringify(cookieOverride(JSON.parse(box.open(decodeURIComponent(cookie), 'upstream-oidc-state')))), 'upstream-oidc-state');
    }
    return { callback: callback.replace(base, ''), cookie: `eidp_oidc_state=${stateCookie}` };
  }

  const lastDenial = async () => (await t.ds.query(`SELECT details FROM audit_events WHERE type = 'login.upstream_denied' ORDER BY id DESC LIMIT 1`))[0]?.details;

  it('a callback without the state this browser started with is refused, nothing created', async () => {
    const { callback } = await callbackUrlAndState('carol@umbrella.example');
    const users = Number((await t.ds.query(`SELECT count(*) AS n FROM users WHERE tenant_id = $1`, [tenantId]))[0].n);
    // Another browser (no state cookie), and a forged state with a real cookie.
    expect((await request(t.http).get(callback)).status).toBe(400);
    expect(await lastDenial()).toMatchObject({ reason: 'upstream_state_mismatch' });
    const { callback: cb2, cookie } = await callbackUrlAndState('carol@umbrella.example');
    const forged = cb2.replace(/state=[^&]+/, `state=${randomBytes(32).toString('base64url')}`);
    expect((await request(t.http).get(forged).set('Cookie', cookie)).status).toBe(400);
    expect(Number((await t.ds.query(`SELECT count(*) AS n FROM users WHERE tenant_id = $1`, [tenantId]))[0].n)).toBe(users);
  }, 120_000);

  it('an ID token whose nonce is not this sign-in\'s is refused', async () => {
    const { callback, cookie } = await callbackUrlAndState('dave@umbrella.example', (p) => ({ ...p, nonce: 'not-the-nonce-sent' }));
    const res = await request(t.http).get(callback).set('Cookie', cookie);
    expect(res.status).toBe(401);
    expect(await lastDenial()).toMatchObject({ reason: 'upstream_nonce_mismatch' });
    expect(Number((await t.ds.query(`SELECT count(*) AS n FROM users WHERE email = 'dave@umbrella.example'`))[0].n)).toBe(0);
  }, 120_000);

  it('a code used twice (the callback replayed with its state cookie) signs in once', async () => {
    const { callback, cookie } = await callbackUrlAndState('erin@umbrella.example');
    const first = await request(t.http).get(callback).set('Cookie', cookie);
    expect(first.status).toBe(303);
    expect(String(first.headers['set-cookie'])).toContain('eidp_session=');
    const second = await request(t.http).get(callback).set('Cookie', cookie);
    expect(second.status).toBe(401);
    expect(await lastDenial()).toMatchObject({ reason: 'upstream_code_rejected' });
  }, 120_000);

  it('skips our second step: under a required policy a company sign-in opens the session directly (the IdP did its own)', async () => {
    await t.ds.query(`UPDATE tenants SET mfa_policy = 'required' WHERE id = $1`, [tenantId]);
    try {
      const { callback, cookie } = await callbackUrlAndState('frank@umbrella.example');
      const res = await request(t.http).get(callback).set('Cookie', cookie);
      expect(res.status).toBe(303);
      expect(res.headers.location).not.toMatch(/\/login\/mfa/);
      expect(String(res.headers['set-cookie'])).toContain('eidp_session=');
      expect(String(res.headers['set-cookie'])).not.toContain('eidp_mfa=');
      const [row] = await t.ds.query(`SELECT count(*)::int AS n FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = 'frank@umbrella.example'`);
      expect(row.n).toBe(1);
    } finally {
      await t.ds.query(`UPDATE tenants SET mfa_policy = 'off' WHERE id = $1`, [tenantId]);
    }
  }, 120_000);
});
