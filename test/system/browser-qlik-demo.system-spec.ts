import * as fs from 'node:fs';
import * as path from 'node:path';
import request from 'supertest';
import { Browser, chromium } from 'playwright-core';
import { grantAccess, makeApiKey, makeTenant, makeUser } from '../factories';
import { FakeQlik, startFakeQlik } from '../fakes/qlik';
import { createTestApp, TestApp } from '../setup/app';
import { freePort } from '../setup/global-setup';

/**
 * The Qlik Cloud demo page in a real browser: the user signs in at our login page, lands on
 * the demo, whose script gets our token and posts it to the (fake) Qlik's /login/jwt-session
 * with the web integration id, then reads /api/v1/users/me with the session cookie Qlik set.
 * The fake checks the token, the origin and the integration id as Qlik would.
 */
const CHROMIUM = '/usr/bin/chromium';
const describeBrowser = fs.existsSync(CHROMIUM) || process.env.CI ? describe : describe.skip;
const SHOTS = process.env.SHOTS_DIR ?? path.resolve(__dirname, '../../test-output/screenshots');
const ISSUER = 'https://idp.example.com';
const WIID = 'wi-demo-0123456789';
const PASSWORD = 'a long and unusual passphrase 42!';

describeBrowser('Qlik Cloud demo page in a real browser', () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let qlik: FakeQlik;

  beforeAll(async () => {
    const port = await freePort();
    t = await createTestApp({ env: { PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` } });
    base = await t.listen(port);
    qlik = await startFakeQlik({ issuer: ISSUER, staticKeys: [], webIntegrationId: WIID, allowedOrigins: [base] });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await qlik?.close();
    await t?.close();
  });

  it('signs in at our login page, exchanges the token for a Qlik session and shows the Qlik user', async () => {
    const key = await makeApiKey(t.ds, null);
    const created = await request(t.http).post('/api/v1/targets').set('Authorization', `Bearer ${key}`).send({ slug: 'qlik-demo', kind: 'qlik', baseUrl: qlik.url, settings: { issuer: ISSUER, webIntegrationId: WIID } }).expect(201);
    // The operator pastes the signing key's kid and PEM into Qlik.
    const keys = (await request(t.http).get('/api/v1/targets/qlik-demo/keys').set('Authorization', `Bearer ${key}`).expect(200)).body.items;
    // A new target has one key, the one to paste into Qlik.
    expect(keys).toHaveLength(1);
    qlik.setKey({ kid: keys[0].kid, pem: keys[0].publicKeyPem });
    const tenant = await makeTenant(t.ds, { name: 'Acme' });
    const user = await makeUser(t.ds, tenant.id, { email: 'ada@acme.example', password: PASSWORD, groups: ['analysts'] });
    await grantAccess(t.ds, tenant.id, created.body.id, { groupMappings: { analysts: ['Qlik Analysts'] } });
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    try {
      const page = await context.newPage();
      const violations: string[] = [];
      page.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
      });
      const demo = `${base}/demo/qlik/qlik-demo/Sales-Overview`;
      await page.goto(demo);
      expect(await page.title()).toBe('Sign in');
      await page.getByLabel('Organization').fill(tenant.slug);
      await page.getByLabel('Email').fill(user.email);
      await page.getByLabel('Password').fill(PASSWORD);
      const [shown] = await Promise.all([page.waitForResponse((r) => r.url() === demo && r.status() === 200), page.getByRole('button', { name: 'Sign in' }).click()]);
      // The page may call the tenant and nothing else; it frames nothing.
      const csp = (await shown.allHeaders())['content-security-policy'];
      expect(csp).toContain(`connect-src 'self' ${qlik.url};`);
      expect(csp).toContain("frame-src 'none'");
      await page.locator('#status[data-signed-in="true"]').waitFor({ timeout: 15_000 });
      expect(await page.locator('#who').textContent()).toBe('Qlik session for Ada Lovelace (ada@acme.example)');
      expect(qlik.sessions).toHaveLength(1);
      expect(qlik.sessions[0]).toMatchObject({ sub: 'ada@acme.example', groups: ['Qlik Analysts'], aud: 'qlik.api/login/jwt-session' });
      // The token Qlik verified is the one recorded before it left.
      expect(await t.ds.query('SELECT 1 FROM issued_tokens WHERE jti = $1 AND target_id = $2', [qlik.sessions[0].jti, created.body.id])).toHaveLength(1);
      expect(violations).toEqual([]);
      fs.mkdirSync(SHOTS, { recursive: true });
      for (const width of [1280, 390]) {
        await page.setViewportSize({ width, height: 720 });
        await page.screenshot({ path: path.join(SHOTS, `qlik-demo-${width}.png`) });
      }
    } finally {
      await context.close();
    }
  });
});
