import * as fs from 'node:fs';
import * as path from 'node:path';
import { Browser, chromium } from 'playwright-core';
import { SessionsService } from '../../src/auth/sessions.service';
import { grantAccess, makeTarget, makeTenant, makeUser } from '../factories';
import { FakeDatabricks, startFakeDatabricks } from '../fakes/databricks';
import { createTestApp, TestApp } from '../setup/app';
import { freePort } from '../setup/global-setup';

/**
 * The Databricks demo page in a real browser (Debian's chromium via playwright-core): the
 * page loads @databricks/aibi-client from us, fetches a token from our broker and frames the
 * (fake) workspace's dashboard with it, under the page's CSP. Screenshot kept for review.
 */
const CHROMIUM = '/usr/bin/chromium';
const available = fs.existsSync(CHROMIUM);
const describeBrowser = available || process.env.CI ? describe : describe.skip;
const CLIENT_ID = 'demo-sp-client';
const CLIENT_SECRET = 'demo-sp-secret-0a1b2c3d4e5f6a7b8c9d';
const DASH = '01efdemo00000000000000000000abcd';
const SHOTS = path.resolve(__dirname, '../../test-output/screenshots');

describeBrowser('Databricks demo page in a real browser', () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let dbx: FakeDatabricks;

  beforeAll(async () => {
    const port = await freePort();
    t = await createTestApp({ env: { PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` } });
    base = await t.listen(port);
    dbx = await startFakeDatabricks({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, dashboards: [DASH], scopedTokenTtl: 303 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await dbx?.close();
    await t?.close();
  });

  it('embeds the dashboard with a token from our broker', async () => {
    const tenant = await makeTenant(t.ds, { name: 'Acme', attributes: { customer: 'acme' } });
    const user = await makeUser(t.ds, tenant.id, { email: 'ada@acme.example' });
    const target = await makeTarget(t, { kind: 'databricks', baseUrl: dbx.url, secret: CLIENT_SECRET, settings: { workspaceId: '1234567890123456', clientId: CLIENT_ID } });
    await grantAccess(t.ds, tenant.id, target.id, { settings: { externalValueAttribute: 'customer' } });
    const session = await t.app.get(SessionsService).create({ id: user.id, tenantId: tenant.id }, { ip: null, userAgent: null });
    const context = await browser.newContext({ viewport: { width: 1000, height: 640 } });
    try {
      await context.addCookies([{ name: 'eidp_session', value: session.token, url: base }]);
      const page = await context.newPage();
      const violations: string[] = [];
      page.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
      });
      await page.goto(`${base}/demo/databricks/${target.slug}/${DASH}`);
      await page.waitForSelector(`#dashboard iframe[src^="${dbx.url}/embed/dashboardsv3/${DASH}"]`);
      const frame = page.frameLocator('#dashboard iframe');
      await frame.getByText('token received in the fragment').waitFor({ timeout: 15_000 });
      expect(await page.locator('#status').textContent()).toMatch(new RegExp(`Dashboard ${DASH}, token valid for 5 min`));
      // The SDK refreshes 5 minutes before exp: here ~3 s in, through getNewToken() -> our broker.
      const minted = dbx.calls.scoped;
      await frame.getByText('token refreshed 1 time(s)').waitFor({ timeout: 15_000 });
      expect(dbx.calls.scoped).toBe(minted + 1);
      const src = await page.locator('#dashboard iframe').getAttribute('src');
      const token = new URLSearchParams(new URL(src!).hash.slice(1)).values().next().value;
      expect(dbx.scopedTokens.get(token!)).toMatchObject({ dashboardId: DASH, externalValue: 'acme' });
      expect(violations).toEqual([]);
      fs.mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: path.join(SHOTS, 'databricks-demo.png') });
    } finally {
      await context.close();
    }
  });
});
