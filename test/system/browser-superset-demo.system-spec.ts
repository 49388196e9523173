import * as fs from 'node:fs';
import * as path from 'node:path';
import request from 'supertest';
import { Browser, chromium } from 'playwright-core';
import { SessionsService } from '../../src/auth/sessions.service';
import { makeApiKey, makeTenant, makeUser } from '../factories';
import { FakeSuperset, startFakeSuperset } from '../fakes/superset';
import { createTestApp, TestApp } from '../setup/app';
import { freePort } from '../setup/global-setup';

/**
 * The Superset demo page in a real browser (Debian's chromium via playwright-core): the page
 * loads @superset-ui/embedded-sdk from us; the SDK frames the (fake) Superset's
 * /embedded/<uuid>, transfers a MessagePort and emits the guest token its fetchGuestToken got
 * from our endpoint; the fake's page loads the dashboard with it (X-GuestToken), which the
 * fake verifies as Superset does. In both modes: signed by us, and asked of Superset's API
 * (login, CSRF, guest_token) by our service account.
 */
const CHROMIUM = '/usr/bin/chromium';
const available = fs.existsSync(CHROMIUM);
const describeBrowser = available || process.env.CI ? describe : describe.skip;
const SECRET = 'superset-guest-token-secret-demo-0a1b2c3d4e5f';
const AUD = 'superset-demo';
const DASH = '9c1f6a52-3b7e-4d8a-a1c2-5e6f7a8b9c0d';
const USERNAME = 'embed-idp-demo';
const PASSWORD = 'demo-service-password-0a1b2c3d';
const SHOTS = process.env.SHOTS_DIR ?? path.resolve(__dirname, '../../test-output/screenshots');

describeBrowser('Superset demo page in a real browser (@superset-ui/embedded-sdk)', () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let superset: FakeSuperset;
  let apiKey: string;

  beforeAll(async () => {
    const port = await freePort();
    t = await createTestApp({ env: { PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` } });
    base = await t.listen(port);
    apiKey = await makeApiKey(t.ds, null);
    // The dashboard may be framed only by our demo page's origin (Superset checks the Referer).
    superset = await startFakeSuperset({ guestTokenSecret: SECRET, audience: AUD, dashboards: { [DASH]: [base] }, username: USERNAME, password: PASSWORD, csrf: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await superset?.close();
    await t?.close();
  });

  it.each([
    ['sign', { mode: 'sign', audience: AUD }, { secret: SECRET }],
    ['api', { mode: 'api', username: USERNAME }, { password: PASSWORD }],
  ] as const)('embeds the dashboard with a guest token (%s mode) that Superset accepts', async (mode, settings, secrets) => {
    const tenant = await makeTenant(t.ds, { name: 'Acme', attributes: { customer_id: "O'Brien" } });
    const user = await makeUser(t.ds, tenant.id, { email: `ada-${mode}@acme.example` });
    const created = await request(t.http).post('/api/v1/targets').set('Authorization', `Bearer ${apiKey}`)
      .send({ slug: `superset-${mode}`, kind: 'superset', baseUrl: superset.url, settings, secrets }).expect(201);
    await request(t.http).put(`/api/v1/tenants/${tenant.id}/access/${created.body.id}`).set('Authorization', `Bearer ${apiKey}`)
      .send({ settings: { dashboards: [DASH], rls: { '*': 'customer_id = {customer_id}' } } }).expect(201);
    const session = await t.app.get(SessionsService).create({ id: user.id, tenantId: tenant.id }, { ip: null, userAgent: null });
    const before = { ...superset.calls };
    for (const width of [1280, 390]) {
      const context = await browser.newContext({ viewport: { width, height: 720 } });
      try {
        await context.addCookies([{ name: 'eidp_session', value: session.token, url: base }]);
        const page = await context.newPage();
        const violations: string[] = [];
        page.on('console', (m) => {
          if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
        });
        await page.goto(`${base}/demo/superset/${created.body.slug}/${DASH}`);
        await page.waitForSelector(`#dashboard iframe[src^="${superset.url}/embedded/${DASH}"]`, { state: "attached" });
        const frame = page.frameLocator('#dashboard iframe');
        await frame.locator('#state[data-state="loaded"]').waitFor({ timeout: 15_000 });
        expect(await frame.locator('#state').textContent()).toBe(`guest ${user.email} sees Fake dashboard ${DASH.slice(0, 8)}`);
        expect(await frame.locator('#rls').textContent()).toBe("customer_id = 'O''Brien'");
        await page.locator('#status[data-embedded="true"]').waitFor();
        const view = superset.views[superset.views.length - 1];
        expect(view).toMatchObject({ dashboard: DASH, claims: { type: 'guest', aud: AUD, user: { username: user.email }, rls_rules: [{ clause: "customer_id = 'O''Brien'" }] } });
        expect(violations).toEqual([]);
        fs.mkdirSync(SHOTS, { recursive: true });
        await page.screenshot({ path: path.join(SHOTS, `superset-demo-${mode}-${width}.png`), fullPage: true });
      } finally {
        await context.close();
      }
    }
    if (mode === 'sign') expect(superset.calls).toEqual(before);
    else expect(superset.calls.login - before.login).toBe(1);
  });
});
