import * as fs from 'node:fs';
import { createServer, Server } from 'node:http';
import { Browser, chromium, Page, Request } from 'playwright-core';
import request from 'supertest';
import { makeTarget } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { freePort } from '../setup/global-setup';
import { CookieJar, csrfFieldOf } from '../support/cookie-jar';

/**
 * Cross-site request forgery against the console in a real browser (Debian's chromium via
 * playwright-core). The attacker runs a second origin: another port on the same host, which
 * — cookies do not isolate by port (RFC 6265 §8.5) — can plant an `eidp_csrf` cookie the
 * service then receives, just as a sibling subdomain or a plain-http hop could. It pairs that
 * cookie with the token an anonymous GET /login gives for it, and has the operator's browser
 * post a console form. Meanwhile the service's own forms keep working, also inside a frame
 * of another origin (as BI tools show the flow).
 */
const CHROMIUM = '/usr/bin/chromium';
const available = fs.existsSync(CHROMIUM);
const describeBrowser = available || process.env.CI ? describe : describe.skip;

const OP_EMAIL = 'ops@platform.example';
const OP_PASSWORD = 'operator password 0001';

describeBrowser('console CSRF from a second origin, in a real browser', () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let evil: Server;
  let evilBase: string;
  /** What the attacker serves at `/` (set per test). */
  let evilPage = '';
  /** The eidp_csrf value the attacker plants, and its token from an anonymous GET /login. */
  let planted: { value: string; token: string };

  beforeAll(async () => {
    const port = await freePort();
    t = await createTestApp({
      env: { PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, BOOTSTRAP_OPERATOR_EMAIL: OP_EMAIL, BOOTSTRAP_OPERATOR_PASSWORD: OP_PASSWORD },
    });
    base = await t.listen(port);

    const anon = new CookieJar();
    const page = anon.store(await request(t.http).get('/login'));
    planted = { value: anon.get('eidp_csrf')!, token: csrfFieldOf(page.text) };

    const evilPort = await freePort();
    evilBase = `http://127.0.0.1:${evilPort}`;
    evil = createServer((_req, res) => {
      // Planted for the service's host: a cookie's scope ignores the port.
      res.setHeader('Set-Cookie', `eidp_csrf=${planted.value}; Path=/`);
      res.setHeader('Content-Type', 'text/html');
      res.end(evilPage);
    });
    await new Promise<void>((resolve) => evil.listen(evilPort, '127.0.0.1', resolve));

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => evil?.close(resolve));
    await t?.close();
  });

  async function signIn(page: Page): Promise<void> {
    await page.goto(`${base}/console`);
    await page.getByLabel('Organization').fill('operators');
    await page.getByLabel('Email').fill(OP_EMAIL);
    await page.getByLabel('Password').fill(OP_PASSWORD);
    await Promise.all([page.waitForURL(`${base}/console`), page.getByRole('button', { name: 'Sign in' }).click()]);
  }

  /** A page of the attacker's origin with one form posting `fields` to `action` on the service. */
  const forgedForm = (action: string, fields: Record<string, string>) =>
    `<!doctype html><title>Cute cats</title><form method="post" action="${action}">${Object.entries(fields)
      .map(([k, v]) => `<input type="hidden" name="${k}" value="${v}">`)
      .join('')}<button type="submit">See the cats</button></form>`;

  it('refuses the forged POSTs (create a tenant, repoint a target), with the planted cookie in place', async () => {
    const target = await makeTarget(t, { kind: 'metabase', baseUrl: 'https://mb.example', secret: 'metabase-jwt-secret-0123456789abcdef' });
    const ctx = await browser.newContext({ javaScriptEnabled: false });
    try {
      const page = await ctx.newPage();
      const posts: Request[] = [];
      page.on('request', (r) => {
        if (r.method() === 'POST') posts.push(r);
      });
      await signIn(page);
      // The service's own forms posted from its own pages: accepted.
      expect(posts.map((r) => new URL(r.url()).pathname)).toEqual(['/login']);

      for (const [action, fields] of [
        [`${base}/console/tenants`, { _csrf: planted.token, name: 'Forged', slug: 'forged-in-browser' }],
        [`${base}/console/targets/${target.id}`, { _csrf: planted.token, name: target.slug, baseUrl: 'https://evil.example' }],
      ] as const) {
        evilPage = forgedForm(action, fields);
        await page.goto(evilBase);
        const cookies = await ctx.cookies(base);
        // The browser holds the operator's session and the attacker's planted CSRF cookie.
        expect(cookies.find((c) => c.name === 'eidp_csrf')?.value).toBe(planted.value);
        expect(cookies.find((c) => c.name === 'eidp_session')).toBeDefined();
        const [response] = await Promise.all([page.waitForResponse((r) => r.url() === action), page.getByRole('button', { name: 'See the cats' }).click()]);
        expect(response.status()).toBe(403);
        await page.waitForLoadState('domcontentloaded');
        expect(await page.locator('h1').textContent()).toBe('Sent from another site');
        expect(await page.locator('main').textContent()).toContain(evilBase);
      }
      expect(await t.ds.query(`SELECT 1 FROM tenants WHERE slug = 'forged-in-browser'`)).toHaveLength(0);
      expect(await t.ds.query(`SELECT base_url FROM targets WHERE id = $1`, [target.id])).toEqual([{ base_url: 'https://mb.example' }]);
      const forged = posts.filter((r) => r.url().startsWith(`${base}/console`));
      expect(forged.map((r) => r.headers().origin)).toEqual([evilBase, evilBase]);

      // The operator's own console form still works, and what the browser sent with it is ours.
      await page.goto(`${base}/console/tenants`);
      await page.getByLabel('Name', { exact: true }).fill('Real');
      await page.getByRole('textbox', { name: 'Slug' }).fill('real-in-browser');
      await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Create tenant' }).click()]);
      expect(await t.ds.query(`SELECT 1 FROM tenants WHERE slug = 'real-in-browser'`)).toHaveLength(1);
      expect(posts.at(-1)!.headers().origin).toBe(base);
    } finally {
      await ctx.close();
    }
  }, 120_000);

  it('keeps the login form working inside a frame of another origin (as a BI tool shows it)', async () => {
    evilPage = `<!doctype html><title>BI tool</title><iframe name="idp" src="${base}/login?next=%2Faccount" style="width:1000px;height:1200px;border:0"></iframe>`;
    const ctx = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1280, height: 1400 } });
    try {
      const page = await ctx.newPage();
      const posts: Request[] = [];
      page.on('request', (r) => {
        if (r.method() === 'POST') posts.push(r);
      });
      await page.goto(evilBase);
      const frame = page.frameLocator('iframe[name="idp"]');
      await frame.getByLabel('Organization').fill('operators');
      await frame.getByLabel('Email').fill(OP_EMAIL);
      await frame.getByLabel('Password').fill(OP_PASSWORD);
      await frame.getByLabel('Password').press('Enter');
      await frame.locator('h1', { hasText: 'You are signed in' }).waitFor();
      // Posted from the framed page, our origin: Sec-Fetch-Site says so (Origin is null
      // under the flow's Referrer-Policy: no-referrer).
      const login = posts.find((r) => r.url() === `${base}/login`)!;
      expect(await login.headerValue('sec-fetch-site')).toBe('same-origin');
      // And signing out from the frame works too.
      await frame.getByRole('button', { name: 'Sign out' }).press('Enter');
      await frame.locator('h1', { hasText: 'You are signed out' }).waitFor();
    } finally {
      await ctx.close();
    }
  }, 120_000);
});
