import * as fs from 'node:fs';
import * as path from 'node:path';
import { Browser, BrowserContext, chromium } from 'playwright-core';
import { SessionsService } from '../../src/auth/sessions.service';
import { grantAccess, makeTarget, makeTenant, makeUser } from '../factories';
import { FakePowerBi, startFakePowerBi } from '../fakes/powerbi';
import { createTestApp, TestApp } from '../setup/app';
import { freePort } from '../setup/global-setup';

/**
 * The Power BI demo page in a real browser: the page loads powerbi-client from us, gets an
 * embed token from our broker (Entra + Power BI API fakes behind it) and calls
 * powerbi.embed(); the SDK frames the report's embedUrl and speaks its postMessage protocol
 * with the fake embed page, which checks the token it is handed and answers `loaded` and
 * `rendered`, or `error`. powerbi-client frames only https://*.powerbi.com, so the browser's
 * requests to https://app.powerbi.com are answered by the fake (Playwright routing).
 */
const CHROMIUM = '/usr/bin/chromium';
const describeBrowser = fs.existsSync(CHROMIUM) || process.env.CI ? describe : describe.skip;
const SHOTS = process.env.SHOTS_DIR ?? path.resolve(__dirname, '../../test-output/screenshots');
const ENTRA_TENANT = '0b8e2c9a-6a7e-4a59-a5b1-1a2b3c4d5e6f';
const CLIENT_ID = '6f1c2a44-1d1e-4c8e-9d6c-2a8b9c1d0e7f';
const CLIENT_SECRET = 'Xq58Q~fake.entra.client.secret-0123456789';
const WS = 'be8908da-da25-452e-b220-163f52476cdd';
const REPORT = '0a3c39e5-7dbe-4cdc-a8b4-3e8a1d3c9f11';
const DATASET = '3a9e7c1d-2b4f-4e6a-9c8d-7f0e1a2b3c4d';

describeBrowser('Power BI demo page in a real browser (powerbi-client)', () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let pbi: FakePowerBi;

  beforeAll(async () => {
    const port = await freePort();
    t = await createTestApp({ env: { PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` } });
    base = await t.listen(port);
    pbi = await startFakePowerBi({
      tenantId: ENTRA_TENANT,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      workspaceId: WS,
      reports: { [REPORT]: DATASET },
      rlsDatasets: { [DATASET]: ['Customer'] },
      // The demo renews 2 minutes before expiry, at least 10 s on: here after 10 s.
      embedTokenTtl: 125,
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await pbi?.close();
    await t?.close();
  });

  /** A signed-in browser whose https://app.powerbi.com is the fake (`tamper` alters the token the page hands the SDK). */
  async function open(tamper = false): Promise<{ context: BrowserContext; slug: string; email: string }> {
    const tenant = await makeTenant(t.ds, { name: 'Acme' });
    const user = await makeUser(t.ds, tenant.id, { email: `ada-${Date.now()}@acme.example`, groups: ['analysts'] });
    const target = await makeTarget(t, {
      kind: 'powerbi',
      baseUrl: 'https://app.powerbi.com',
      secret: CLIENT_SECRET,
      settings: { tenantId: ENTRA_TENANT, clientId: CLIENT_ID, workspaceId: WS, authorityHost: pbi.url, apiHost: pbi.url },
    });
    await grantAccess(t.ds, tenant.id, target.id, { groupMappings: { analysts: ['Customer'] }, settings: { reports: [REPORT], rowLevelSecurity: true } });
    const session = await t.app.get(SessionsService).create({ id: user.id, tenantId: tenant.id }, { ip: null, userAgent: null });
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    await context.addCookies([{ name: 'eidp_session', value: session.token, url: base }]);
    await context.route('https://app.powerbi.com/**', async (route) => {
      const u = new URL(route.request().url());
      const response = await route.fetch({ url: `${pbi.url}${u.pathname}${u.search}` });
      await route.fulfill({ response });
    });
    if (tamper) {
      await context.route(`${base}/embed/**`, async (route) => {
        const response = await route.fetch();
        const body = (await response.json()) as { token: string };
        await route.fulfill({ response, json: { ...body, token: `${body.token.slice(0, -4)}AAAA` } });
      });
    }
    return { context, slug: target.slug, email: user.email };
  }

  it('embeds the report: the SDK loads it with our embed token, for the user\'s effective identity', async () => {
    const { context, slug, email } = await open();
    try {
      const page = await context.newPage();
      const violations: string[] = [];
      page.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
      });
      await page.goto(`${base}/demo/powerbi/${slug}/${REPORT}`);
      await page.locator('#status[data-rendered="true"]').waitFor({ timeout: 20_000 });
      expect(await page.locator('#status').textContent()).toMatch(new RegExp(`Report ${REPORT} rendered; token valid until`));
      const frame = page.frameLocator('#report iframe');
      expect(await frame.locator('#who').textContent()).toBe(`effective identity ${email} (Customer)`);
      const src = await page.locator('#report iframe').getAttribute('src');
      expect(new URL(src!).origin).toBe('https://app.powerbi.com');
      expect(new URL(src!).searchParams.get('reportId')).toBe(REPORT);
      expect(pbi.embeds).toHaveLength(1);
      expect(pbi.embeds[0]).toMatchObject({ reportId: REPORT, identities: [{ username: email, roles: ['Customer'], datasets: [DATASET] }] });
      const [row] = await t.ds.query(`SELECT jti FROM issued_tokens WHERE jti = $1`, [pbi.embeds[0].tokenId]);
      expect(row).toBeDefined();
      expect(pbi.rejections).toEqual([]);
      expect(violations).toEqual([]);
      // Before it expires the page asks our broker again and hands the SDK the new token
      // (report.setAccessToken), which the embed page checks as Power BI would.
      await frame.getByText('token renewed 1 time(s)').waitFor({ timeout: 20_000 });
      expect(pbi.embeds).toHaveLength(2);
      expect(pbi.embeds[1].tokenId).not.toBe(pbi.embeds[0].tokenId);
      expect(await page.locator('#status').getAttribute('class')).not.toBe('error');
      fs.mkdirSync(SHOTS, { recursive: true });
      for (const width of [1280, 390]) {
        await page.setViewportSize({ width, height: 720 });
        await page.screenshot({ path: path.join(SHOTS, `powerbi-demo-${width}.png`) });
      }
    } finally {
      await context.close();
    }
  });

  it('a token Power BI did not issue: the embed page refuses it and the SDK reports the error', async () => {
    const { context, slug } = await open(true);
    try {
      const page = await context.newPage();
      await page.goto(`${base}/demo/powerbi/${slug}/${REPORT}`);
      await page.locator('#status.error').waitFor({ timeout: 20_000 });
      expect(await page.locator('#status').textContent()).toBe('Power BI reported an error: not an embed token Power BI issued');
      expect(pbi.rejections.at(-1)).toEqual({ step: 'embed', reason: 'not an embed token Power BI issued' });
    } finally {
      await context.close();
    }
  });
});
