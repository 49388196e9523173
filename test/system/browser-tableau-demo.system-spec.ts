import * as fs from 'node:fs';
import * as path from 'node:path';
import { Browser, chromium } from 'playwright-core';
import { SessionsService } from '../../src/auth/sessions.service';
import { grantAccess, makeTarget, makeTenant, makeUser } from '../factories';
import { FakeTableau, startFakeTableau } from '../fakes/tableau';
import { createTestApp, TestApp } from '../setup/app';
import { freePort } from '../setup/global-setup';

/**
 * The Tableau demo page in a real browser: `<tableau-viz>` from the real
 * `@tableau/embedding-api` (served by us), a token from /embed/<target>/token, which the SDK
 * posts to the (fake) Tableau's sign-in endpoint before it frames the view. The fake checks
 * the token as Tableau would.
 */
const CHROMIUM = '/usr/bin/chromium';
const describeBrowser = fs.existsSync(CHROMIUM) || process.env.CI ? describe : describe.skip;
const SHOTS = process.env.SHOTS_DIR ?? path.resolve(__dirname, '../../test-output/screenshots');
const CLIENT = '0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d';
const SECRET_ID = '9f8e7d6c-5b4a-3928-1706-f5e4d3c2b1a0';
const SECRET = 'tableau-connected-app-secret-value-0123456789';

describeBrowser('Tableau demo page in a real browser', () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let tableau: FakeTableau;

  beforeAll(async () => {
    const port = await freePort();
    t = await createTestApp({ env: { PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` } });
    base = await t.listen(port);
    tableau = await startFakeTableau({ clientId: CLIENT, secretId: SECRET_ID, secret: SECRET, users: ['ada@acme.example'], allowedOrigins: [base] });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await tableau?.close();
    await t?.close();
  });

  it('the SDK signs in to Tableau with our token and frames the view', async () => {
    const tenant = await makeTenant(t.ds, { name: 'Acme', attributes: { region: 'emea' } });
    const user = await makeUser(t.ds, tenant.id, { email: 'ada@acme.example' });
    const target = await makeTarget(t, { kind: 'tableau', baseUrl: `${tableau.url}/t/acme`, secret: SECRET, settings: { clientId: CLIENT, secretId: SECRET_ID } });
    await grantAccess(t.ds, tenant.id, target.id, { settings: { userAttributes: ['region'] } });
    const session = await t.app.get(SessionsService).create({ id: user.id, tenantId: tenant.id }, { ip: null, userAgent: null });
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    try {
      await context.addCookies([{ name: 'eidp_session', value: session.token, url: base }]);
      const page = await context.newPage();
      const violations: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
      });
      page.on('request', (r) => {
        if (r.url().startsWith(tableau.url)) requests.push(`${r.method()} ${new URL(r.url()).pathname}`);
      });
      await page.goto(`${base}/demo/tableau/${target.slug}/Sales~Overview`);
      await page.frameLocator('tableau-viz iframe').locator('#who').waitFor({ timeout: 20_000 });
      expect(await page.frameLocator('tableau-viz iframe').locator('#who').textContent()).toBe('signed in as ada@acme.example');
      // What the real SDK asked of Tableau: the sign-in with our token, then the view.
      expect(requests).toContain('POST /vizportal/api/web/v1/auth/embed/signin');
      expect(requests).toContain('GET /t/acme/views/Sales/Overview');
      expect(tableau.signIns).toHaveLength(1);
      expect(tableau.signIns[0]).toMatchObject({ via: 'signin', sub: 'ada@acme.example', claims: { region: 'emea' } });
      expect(tableau.rejections).toEqual([]);
      expect(violations).toEqual([]);
      fs.mkdirSync(SHOTS, { recursive: true });
      for (const width of [1280, 390]) {
        await page.setViewportSize({ width, height: 720 });
        await page.screenshot({ path: path.join(SHOTS, `tableau-demo-${width}.png`) });
      }
    } finally {
      await context.close();
    }
  });
});
