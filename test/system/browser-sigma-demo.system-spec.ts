import * as fs from 'node:fs';
import * as path from 'node:path';
import { Browser, chromium } from 'playwright-core';
import { SessionsService } from '../../src/auth/sessions.service';
import { grantAccess, makeTarget, makeTenant, makeUser } from '../factories';
import { FakeSigma, startFakeSigma } from '../fakes/sigma';
import { createTestApp, TestApp } from '../setup/app';
import { freePort } from '../setup/global-setup';

/**
 * The Sigma demo page in a real browser: the page loads @sigmacomputing/embed-sdk from us,
 * asks us for the workbook URL, frames it, and the SDK hears the fake workbook's
 * `workbook:loaded`. The SDK takes messages only from sigmacomputing.com / .io origins, so
 * Chromium resolves embed.sigmacomputing.io to the loopback fake (--host-resolver-rules).
 */
const CHROMIUM = '/usr/bin/chromium';
const describeBrowser = fs.existsSync(CHROMIUM) || process.env.CI ? describe : describe.skip;
const SHOTS = process.env.SHOTS_DIR ?? path.resolve(__dirname, '../../test-output/screenshots');
const CLIENT = 'sigma-demo-client-0001';
const SECRET = 'sigma-embed-secret-0123456789abcdef0123456789abcdef';
const ORG = 'acme-analytics';
const WB = 'Sales-Overview-1a2b3c4d';

describeBrowser('Sigma demo page in a real browser', () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let sigma: FakeSigma;

  beforeAll(async () => {
    const port = await freePort();
    t = await createTestApp({ env: { PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` } });
    base = await t.listen(port);
    sigma = await startFakeSigma({ clientId: CLIENT, secret: SECRET, organization: ORG, teams: ['Sigma Analysts'] });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--host-resolver-rules=MAP embed.sigmacomputing.io 127.0.0.1'],
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await sigma?.close();
    await t?.close();
  });

  it('frames the workbook with a token Sigma accepts, and the SDK hears it load', async () => {
    const tenant = await makeTenant(t.ds, { name: 'Acme', attributes: { region: 'emea' } });
    const user = await makeUser(t.ds, tenant.id, { email: 'ada@acme.example', groups: ['analysts'] });
    const sigmaUrl = `http://embed.sigmacomputing.io:${new URL(sigma.url).port}`;
    const target = await makeTarget(t, { kind: 'sigma', baseUrl: sigmaUrl, secret: SECRET, settings: { clientId: CLIENT, organization: ORG } });
    await grantAccess(t.ds, tenant.id, target.id, { groupMappings: { analysts: ['Sigma Analysts'] }, settings: { userAttributes: ['region'] } });
    const session = await t.app.get(SessionsService).create({ id: user.id, tenantId: tenant.id }, { ip: null, userAgent: null });
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    try {
      await context.addCookies([{ name: 'eidp_session', value: session.token, url: base }]);
      const page = await context.newPage();
      const violations: string[] = [];
      page.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
      });
      await page.goto(`${base}/demo/sigma/${target.slug}/${WB}`);
      await page.locator('#status[data-loaded="true"]').waitFor({ timeout: 15_000 });
      expect(await page.locator('#status').textContent()).toBe('Workbook loaded');
      expect(await page.frameLocator('#workbook').locator('#who').textContent()).toBe('signed in as ada@acme.example');
      expect(sigma.embeds).toHaveLength(1);
      expect(sigma.embeds[0]).toMatchObject({ workbook: WB, header: { kid: CLIENT }, claims: { sub: 'ada@acme.example', teams: ['Sigma Analysts'], user_attributes: { region: 'emea' } } });
      expect(sigma.rejections).toEqual([]);
      expect(violations).toEqual([]);
      fs.mkdirSync(SHOTS, { recursive: true });
      for (const width of [1280, 390]) {
        await page.setViewportSize({ width, height: 720 });
        await page.screenshot({ path: path.join(SHOTS, `sigma-demo-${width}.png`) });
      }
    } finally {
      await context.close();
    }
  });
});
