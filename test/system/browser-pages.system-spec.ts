import * as fs from 'node:fs';
import * as path from 'node:path';
import { Browser, BrowserContext, chromium, Page } from 'playwright-core';
import { grantAccess, makeTarget, makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { freePort } from '../setup/global-setup';

/**
 * The pages end users see, in a real browser (Debian's chromium, JavaScript off): our own
 * look, a tenant's look, the signed-out page, error pages and the landing page. Each is
 * checked for CSP violations (the policy must allow exactly what the page uses), its colours
 * and logo, and saved as a screenshot under test-output/screenshots/ (git-ignored) to look at.
 */
const CHROMIUM = '/usr/bin/chromium';
const available = fs.existsSync(CHROMIUM);
if (!available && !process.env.CI) console.warn(`browser-pages: ${CHROMIUM} not found, skipping (apt-get install chromium)`);
const describeBrowser = available || process.env.CI ? describe : describe.skip;

const SHOTS = path.join(__dirname, '..', '..', 'test-output', 'screenshots');
const PASSWORD = 'correct horse battery staple';
const LOGO = 'https://cdn.acme.example/logo.svg';
const LOGO_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" viewBox="0 0 120 40">
<rect width="40" height="40" rx="8" fill="#0a5d3a"/><path d="M8 30 L20 8 L32 30 Z" fill="#fff"/>
<text x="48" y="27" font-family="sans-serif" font-size="18" font-weight="700" fill="#0a5d3a">ACME</text></svg>`;

type Css = { getComputedStyle(e: unknown): { backgroundColor: string; color: string } };
const computed = (page: Page, selector: string) =>
  page.locator(selector).first().evaluate((e) => {
    const s = (globalThis as unknown as Css).getComputedStyle(e);
    return { background: s.backgroundColor, color: s.color };
  });

describeBrowser('pages in a real browser', () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let acme: { id: string; slug: string };

  beforeAll(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    const port = await freePort();
    t = await createTestApp({ env: { PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` } });
    base = await t.listen(port);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    acme = await makeTenant(t.ds, { name: 'Acme Corp' });
    await t.ds.query(
      `UPDATE tenants SET brand_display_name = 'Acme Analytics', brand_logo_url = $2, brand_accent_color = '#0a5d3a',
         brand_support_contact = 'help@acme.example', logout_landing_url = 'https://app.acme.example/' WHERE id = $1`,
      [acme.id, LOGO],
    );
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  /** A context whose pages record CSP violations and get the logo from a stand-in CDN. */
  async function open(opts: { colorScheme?: 'light' | 'dark' } = {}): Promise<{ context: BrowserContext; page: Page; violations: string[] }> {
    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 900, height: 720 }, colorScheme: opts.colorScheme ?? 'light' });
    await context.route('https://cdn.acme.example/**', (route) => route.fulfill({ status: 200, contentType: 'image/svg+xml', body: LOGO_SVG }));
    const page = await context.newPage();
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
    });
    return { context, page, violations };
  }

  async function shot(page: Page, name: string, violations: string[]): Promise<void> {
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
    expect(violations).toEqual([]);
  }

  it('the landing page says what this is and links to sign-in and the API docs', async () => {
    const { context, page, violations } = await open();
    try {
      await page.goto(`${base}/`);
      expect(await page.title()).toBe('Sign-in service for embedded analytics');
      expect(await page.getByRole('link', { name: 'Sign in' }).getAttribute('href')).toBe('/login');
      expect(await page.getByRole('link', { name: '/api/docs' }).getAttribute('href')).toBe('/api/docs');
      await shot(page, 'landing', violations);
    } finally {
      await context.close();
    }
  }, 60_000);

  it('the login page in our own look, also with ?tenant= of a branded tenant; signed in, the tenant\'s (light and dark)', async () => {
    const { context, page, violations } = await open();
    try {
      await page.goto(`${base}/login`);
      expect(await page.title()).toBe('Sign in');
      expect(await computed(page, 'button')).toEqual({ background: 'rgb(36, 86, 199)', color: 'rgb(255, 255, 255)' });
      await shot(page, 'login-plain', violations);

      // ?tenant= pre-fills the organization and nothing else: whether it exists is not shown.
      await page.goto(`${base}/login?tenant=${acme.slug}`);
      expect(await page.title()).toBe('Sign in');
      expect(await page.locator('.brand').count()).toBe(0);
      expect(await page.getByLabel('Organization').inputValue()).toBe(acme.slug);
      expect(await computed(page, 'button')).toEqual({ background: 'rgb(36, 86, 199)', color: 'rgb(255, 255, 255)' });
      await shot(page, 'login-tenant-prefilled', violations);

      // Signed in, the tenant's look: its name labelled as the organization's, logo, colour, contact.
      const user = await makeUser(t.ds, acme.id, { password: PASSWORD });
      await page.getByLabel('Email').fill(user.email);
      await page.getByLabel('Password').fill(PASSWORD);
      await Promise.all([page.waitForURL(`${base}/account`), page.getByRole('button', { name: 'Sign in' }).click()]);
      expect(await page.locator('.brand span').textContent()).toBe('Your organizationAcme Analytics');
      expect(await page.locator('.brand img').evaluate((i) => (i as unknown as { naturalWidth: number }).naturalWidth)).toBeGreaterThan(0);
      expect(await computed(page, 'button')).toEqual({ background: 'rgb(10, 93, 58)', color: 'rgb(255, 255, 255)' });
      expect(await page.getByRole('link', { name: 'help@acme.example' }).getAttribute('href')).toBe('mailto:help@acme.example');
      await shot(page, 'account-branded', violations);
    } finally {
      await context.close();
    }

    // A light accent gets black text; dark mode keeps the accent and its readable text.
    const yellow = await makeTenant(t.ds, { name: 'Initech' });
    await t.ds.query(`UPDATE tenants SET brand_accent_color = '#ffd500' WHERE id = $1`, [yellow.id]);
    const dark = await open({ colorScheme: 'dark' });
    try {
      const member = await makeUser(t.ds, yellow.id, { password: PASSWORD });
      await dark.page.goto(`${base}/login?tenant=${yellow.slug}`);
      await dark.page.getByLabel('Email').fill(member.email);
      await dark.page.getByLabel('Password').fill(PASSWORD);
      await Promise.all([dark.page.waitForURL(`${base}/account`), dark.page.getByRole('button', { name: 'Sign in' }).click()]);
      expect(await computed(dark.page, 'button')).toEqual({ background: 'rgb(255, 213, 0)', color: 'rgb(0, 0, 0)' });
      await shot(dark.page, 'account-branded-dark', dark.violations);
    } finally {
      await dark.context.close();
    }
  }, 60_000);

  it('signed in, an error page and the signed-out page are in the tenant\'s look', async () => {
    const user = await makeUser(t.ds, acme.id, { email: 'wile@acme.example', password: PASSWORD });
    const target = await makeTarget(t, { kind: 'metabase', baseUrl: 'https://metabase.example.test', secret: 's'.repeat(40) });
    const { context, page, violations } = await open();
    try {
      await page.goto(`${base}/login?tenant=${acme.slug}`);
      await page.getByLabel('Email').fill(user.email);
      await page.getByLabel('Password').fill(PASSWORD);
      await Promise.all([page.waitForURL(`${base}/account`), page.getByRole('button', { name: 'Sign in' }).click()]);
      await shot(page, 'account', violations);

      // No access to this BI tool yet: a 403 page that says so and offers a way on.
      await page.goto(`${base}/sso/${target.slug}`);
      expect(await page.title()).toBe('No access');
      expect(await page.locator('.brand span').textContent()).toBe('Your organizationAcme Analytics');
      expect(await page.getByRole('link', { name: 'Sign in with another account' }).count()).toBe(1);
      expect(await page.getByRole('link', { name: 'Back to “Acme Analytics”' }).getAttribute('href')).toBe('https://app.acme.example/');
      expect(await page.locator('.ref code').textContent()).toMatch(/\S{8,}/);
      await shot(page, 'error-403-no-access', violations);

      await grantAccess(t.ds, acme.id, target.id);
      await page.goto(`${base}/sso/no-such-tool`);
      expect(await page.title()).toBe('Page not found');
      await shot(page, 'error-404', violations);

      await page.goto(`${base}/logout`);
      expect(await page.locator('h1').textContent()).toBe('You are signed out');
      expect(await page.locator('.brand span').textContent()).toBe('Your organizationAcme Analytics');
      expect(await page.getByRole('link', { name: 'Sign in again' }).getAttribute('href')).toBe(`/login?tenant=${acme.slug}`);
      await shot(page, 'logout', violations);
    } finally {
      await context.close();
    }
  }, 60_000);

  it('an error page with no tenant known, in our own look', async () => {
    const { context, page, violations } = await open();
    try {
      await page.goto(`${base}/no/such/page`);
      expect(await page.title()).toBe('Page not found');
      expect(await page.locator('.brand').count()).toBe(0);
      await shot(page, 'error-404-plain', violations);
    } finally {
      await context.close();
    }
  }, 60_000);

  it('the API docs (Swagger UI, with its scripts) still work under their policy', async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    try {
      const page = await context.newPage();
      const violations: string[] = [];
      page.on('console', (m) => {
        if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
      });
      await page.goto(`${base}/api/docs`);
      await page.locator('.swagger-ui .info .title').waitFor({ timeout: 20_000 });
      expect(await page.locator('.swagger-ui .info .title').textContent()).toContain('embed-idp admin API');
      await shot(page, 'api-docs', violations);
    } finally {
      await context.close();
    }
  }, 60_000);
});
