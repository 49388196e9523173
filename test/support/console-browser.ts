import * as fs from 'node:fs';
import * as path from 'node:path';
import { Browser, BrowserContext, chromium, Page } from 'playwright-core';
import { createTestApp, TestApp } from '../setup/app';
import { freePort } from '../setup/global-setup';

/**
 * The console driven in Chromium: the service (in this process, on a real port, with a
 * bootstrap operator) and a browser with JavaScript off (the console needs none), started in
 * the calling describe's beforeAll and closed in its afterAll. The specs' own hooks run after
 * these, so `ui.t` and `ui.base` are set by then.
 */
export const CHROMIUM = '/usr/bin/chromium';
/** Skipped without Chromium on a developer's machine; CI has it and fails instead. */
export const describeBrowser = fs.existsSync(CHROMIUM) || process.env.CI ? describe : describe.skip;
export const SHOTS = process.env.SHOTS_DIR ?? path.join(__dirname, '../../test-output/screenshots');
export const OP_EMAIL = 'ops@platform.example';
export const OP_PASSWORD = 'operator password 0001';

export interface ConsoleBrowser {
  readonly t: TestApp;
  readonly base: string;
  readonly browser: Browser;
  /** A fresh browser context (cookies of its own) and a page in it. */
  context(width?: number): Promise<{ ctx: BrowserContext; page: Page }>;
  /** Signs the bootstrap operator in at /console. */
  signIn(page: Page): Promise<void>;
  /** Clicks a button by its exact name and waits for the page it loads. */
  submit(page: Page, button: string): Promise<unknown>;
  /** Follows a link by its name and waits for the page it loads. */
  click(page: Page, link: string): Promise<unknown>;
  /** Full-page screenshots at 1280 and 390 px wide, as `console-<name>-<width>.png`. */
  shots(page: Page, name: string): Promise<void>;
}

export function consoleInBrowser(): ConsoleBrowser {
  let t: TestApp | undefined;
  let base = '';
  let browser: Browser | undefined;

  beforeAll(async () => {
    const port = await freePort();
    t = await createTestApp({ env: { PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, BOOTSTRAP_OPERATOR_EMAIL: OP_EMAIL, BOOTSTRAP_OPERATOR_PASSWORD: OP_PASSWORD } });
    base = await t.listen(port);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
    fs.mkdirSync(SHOTS, { recursive: true });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  return {
    get t() {
      return t!;
    },
    get base() {
      return base;
    },
    get browser() {
      return browser!;
    },
    async context(width = 1280) {
      const ctx = await browser!.newContext({ javaScriptEnabled: false, viewport: { width, height: 900 } });
      return { ctx, page: await ctx.newPage() };
    },
    async signIn(page) {
      await page.goto(`${base}/console`);
      await page.getByLabel('Organization').fill('operators');
      await page.getByLabel('Email').fill(OP_EMAIL);
      await page.getByLabel('Password').fill(OP_PASSWORD);
      await Promise.all([page.waitForURL(`${base}/console`), page.getByRole('button', { name: 'Sign in' }).click()]);
    },
    submit: (page, button) => Promise.all([page.waitForNavigation(), page.getByRole('button', { name: button, exact: true }).click()]),
    click: (page, link) => Promise.all([page.waitForNavigation(), page.getByRole('link', { name: link }).click()]),
    async shots(page, name) {
      for (const width of [1280, 390]) {
        await page.setViewportSize({ width, height: 900 });
        await page.screenshot({ path: path.join(SHOTS, `console-${name}-${width}.png`), fullPage: true });
      }
      await page.setViewportSize({ width: 1280, height: 900 });
    },
  };
}
