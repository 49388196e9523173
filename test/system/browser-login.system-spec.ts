import * as fs from 'node:fs';
import { Browser, chromium } from 'playwright-core';
import { makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { freePort } from '../setup/global-setup';

/**
 * A real browser (Debian's chromium, driven by playwright-core; never a downloaded one)
 * through login -> session -> logout, with JavaScript OFF: the pages must work without it.
 * In CI a missing chromium fails the test; elsewhere it is skipped with a message.
 */
const CHROMIUM = '/usr/bin/chromium';
const available = fs.existsSync(CHROMIUM);
if (!available && !process.env.CI) {
  console.warn(`browser-login: ${CHROMIUM} not found, skipping the real-browser test (apt-get install chromium; CI fails instead)`);
}
const describeBrowser = available || process.env.CI ? describe : describe.skip;

const PASSWORD = 'correct horse battery staple';

describeBrowser('login in a real browser', () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    // The service must know the URL the browser uses (cookies, continuation checks).
    const port = await freePort();
    t = await createTestApp({ env: { PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` } });
    base = await t.listen(port);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('signs in with the organization pre-filled, keeps the session across visits, and signs out', async () => {
    const tenant = await makeTenant(t.ds, { name: 'Wayne Enterprises' });
    const user = await makeUser(t.ds, tenant.id, { email: 'bruce@wayne.example', password: PASSWORD, firstName: 'Bruce', lastName: 'Wayne' });
    const context = await browser.newContext({ javaScriptEnabled: false });
    try {
      const page = await context.newPage();
      // The inline stylesheet is allowed by its hash: a mismatch shows up as a CSP violation.
      const violations: string[] = [];
      page.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
      });
      await page.goto(`${base}/login?tenant=${tenant.slug}&next=${encodeURIComponent('/account')}`);
      // Pre-filled, not looked up: an anonymous visitor does not learn the organization exists.
      expect(await page.title()).toBe('Sign in');
      expect(await page.getByLabel('Organization').inputValue()).toBe(tenant.slug);
      expect(await page.locator('main').textContent()).not.toContain('Wayne Enterprises');

      // A wrong password: the form again, with the error inline and the email kept.
      await page.getByLabel('Email').fill(user.email);
      await page.getByLabel('Password').fill('not the password');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForLoadState('domcontentloaded');
      expect(await page.getByRole('alert').textContent()).toContain('The organization, email or password is not right.');
      expect(await page.getByLabel('Email').inputValue()).toBe(user.email);
      expect(await page.getByLabel('Password').inputValue()).toBe('');

      await page.getByLabel('Password').fill(PASSWORD);
      await Promise.all([page.waitForURL(`${base}/account`), page.getByRole('button', { name: 'Sign in' }).click()]);
      expect(await page.locator('h1').textContent()).toBe('You are signed in');
      expect(await page.locator('main').textContent()).toContain('Bruce Wayne');

      expect(violations).toEqual([]);
      // (Runs in the page; this project's TypeScript has no DOM lib, hence the cast.)
      const background = await page.getByRole('button', { name: 'Sign out' }).evaluate(
        (b) => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(b).backgroundColor,
      );
      expect(background).toBe('rgb(36, 86, 199)');

      const cookie = (await context.cookies(base)).find((c) => c.name === 'eidp_session');
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax', secure: false, path: '/' });

      // A later visit in the same browser is still signed in.
      const again = await context.newPage();
      await again.goto(`${base}/account`);
      expect(await again.locator('h1').textContent()).toBe('You are signed in');

      await Promise.all([again.waitForURL(`${base}/logout`), again.getByRole('button', { name: 'Sign out' }).click()]);
      expect(await again.locator('h1').textContent()).toBe('You are signed out');
      expect((await context.cookies(base)).find((c) => c.name === 'eidp_session')).toBeUndefined();

      await page.goto(`${base}/account`);
      expect(new URL(page.url()).pathname).toBe('/login');
      expect(await page.getByLabel('Organization').count()).toBe(1);
      expect(await t.ds.query(`SELECT 1 FROM sessions WHERE user_id = $1 AND revoked_at IS NULL`, [user.id])).toHaveLength(0);
    } finally {
      await context.close();
    }
  }, 120_000);
});
