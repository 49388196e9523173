import * as fs from 'node:fs';
import { Browser, chromium } from 'playwright-core';
import request from 'supertest';
import { FakeGrafana, startFakeGrafana } from '../fakes/grafana';
import { grantAccess, makeApiKey, makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { freePort } from '../setup/global-setup';

/**
 * A real browser follows a Grafana link through our login to the fake Grafana, which
 * verifies the token with jsonwebtoken and our JWKS and shows the dashboard signed in.
 */
const CHROMIUM = '/usr/bin/chromium';
const available = fs.existsSync(CHROMIUM);
if (!available && !process.env.CI) console.warn(`browser-grafana: ${CHROMIUM} not found, skipping (apt-get install chromium)`);
const describeBrowser = available || process.env.CI ? describe : describe.skip;

const PASSWORD = 'correct horse battery staple';

describeBrowser('Grafana sign-in in a real browser', () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let fake: FakeGrafana;

  beforeAll(async () => {
    const port = await freePort();
    t = await createTestApp({ env: { PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` } });
    base = await t.listen(port);
    fake = await startFakeGrafana({ jwksUrl: `${base}/targets/grafana-browser/jwks.json` });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await fake?.close();
    await t?.close();
  });

  it('a Grafana link -> our login -> Grafana, signed in with the mapped role', async () => {
    const key = await makeApiKey(t.ds, null);
    const created = await request(t.http).post('/api/v1/targets').set('Authorization', `Bearer ${key}`).send({ slug: 'grafana-browser', kind: 'grafana', baseUrl: fake.url }).expect(201);
    const tenant = await makeTenant(t.ds);
    await grantAccess(t.ds, tenant.id, created.body.id, { groupMappings: { analysts: ['Viewer'] } });
    const user = await makeUser(t.ds, tenant.id, { email: 'ada@grafana.example', password: PASSWORD, groups: ['analysts'] });
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${base}/sso/grafana-browser?tenant=${tenant.slug}&return_to=/d/abc123/sales`);
      expect(new URL(page.url()).pathname).toBe('/login');
      await page.getByLabel('Email').fill(user.email);
      await page.getByLabel('Password').fill(PASSWORD);
      await Promise.all([page.waitForURL(`${fake.url}/d/abc123/sales`), page.getByRole('button', { name: 'Sign in' }).click()]);
      expect(JSON.parse((await page.locator('body').textContent())!)).toEqual({ path: '/d/abc123/sales', user: { login: user.email, email: user.email, role: 'Viewer' } });
      expect(fake.rejections).toEqual([]);
      const jti = fake.logins.at(-1)!.claims.jti;
      expect(await t.ds.query(`SELECT 1 FROM issued_tokens WHERE jti = $1`, [jti])).toHaveLength(1);
    } finally {
      await context.close();
    }
  }, 120_000);
});
