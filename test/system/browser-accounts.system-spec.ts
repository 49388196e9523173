import * as fs from 'node:fs';
import * as path from 'node:path';
import { Browser, BrowserContext, chromium, Page } from 'playwright-core';
import { makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { freePort } from '../setup/global-setup';
import { linkIn, TestSmtp } from '../support/smtp';

/**
 * People running their accounts in a real browser (JavaScript off), every mail through a real
 * SMTP server: an operator invites from the console -> the mail -> set a password -> signed
 * in; "Forgot password?" -> the mail -> a new password -> sign in with it. Each page is saved
 * at 1280 and 390 px wide under test-output/screenshots/ (git-ignored) to look at.
 */
const CHROMIUM = '/usr/bin/chromium';
const available = fs.existsSync(CHROMIUM);
const describeBrowser = available || process.env.CI ? describe : describe.skip;
const SHOTS = process.env.SHOTS_DIR ?? path.join(__dirname, '..', '..', 'test-output', 'screenshots');
const OP_EMAIL = 'ops@platform.example';
const OP_PASSWORD = 'operator password 0001';
const NEW_PASSWORD = 'a bystander with a password of her own';
const RESET_PASSWORD = 'seven quiet lanterns over tallinn';

describeBrowser('accounts in a real browser, mail over SMTP', () => {
  const smtp = new TestSmtp();
  let t: TestApp;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    await smtp.start();
    const port = await freePort();
    t = await createTestApp({
      env: { PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, SMTP_URL: smtp.url, BOOTSTRAP_OPERATOR_EMAIL: OP_EMAIL, BOOTSTRAP_OPERATOR_PASSWORD: OP_PASSWORD },
    });
    base = await t.listen(port);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
    fs.mkdirSync(SHOTS, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await smtp.stop();
  });

  /** Saves the page at both widths (then back to desktop), and checks no CSP violation was logged. */
  async function shoot(page: Page, name: string): Promise<void> {
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: 900 });
      await page.screenshot({ path: path.join(SHOTS, `accounts-${name}-${width}.png`), fullPage: true });
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  }

  async function newPage(): Promise<{ context: BrowserContext; page: Page; violations: string[] }> {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    return { context, page, violations };
  }

  async function signIn(page: Page, tenant: string, email: string, password: string, next = '/account'): Promise<void> {
    await page.goto(`${base}/login?tenant=${tenant}&next=${encodeURIComponent(next)}`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await Promise.all([page.waitForURL(`${base}${next}`), page.getByRole('button', { name: 'Sign in' }).click()]);
  }

  it('invite from the console -> mail over SMTP -> set a password -> signed in', async () => {
    const tenant = await makeTenant(t.ds, { name: 'Wayne Enterprises' });
    await t.ds.query(`UPDATE tenants SET brand_accent_color = '#0a5d3a', brand_support_contact = 'help@wayne.example' WHERE id = $1`, [tenant.id]);
    const op = await newPage();
    try {
      await signIn(op.page, 'operators', OP_EMAIL, OP_PASSWORD, `/console/tenants/${tenant.id}/invitations`);
      await op.page.getByLabel('Email').fill('selina@wayne.example');
      await op.page.getByLabel('First name').fill('Selina');
      const before = smtp.received.length;
      await Promise.all([op.page.waitForURL(/done=invitation-sent/), op.page.getByRole('button', { name: 'Send invitation' }).click()]);
      expect(await op.page.locator('table').textContent()).toContain('selina@wayne.example');
      await shoot(op.page, 'console-invitations');
      await smtp.waitForTo('selina@wayne.example', before);
      await op.page.goto(`${base}/console/outbox`);
      expect(await op.page.locator('table').textContent()).toContain('selina@wayne.example');
      await shoot(op.page, 'console-outbox');
      expect(op.violations).toEqual([]);
    } finally {
      await op.context.close();
    }

    const mail = smtp.lastTo('selina@wayne.example')!;
    expect(mail.subject).toBe('You are invited to sign in');
    const { context, page, violations } = await newPage();
    try {
      await page.goto(linkIn(mail.text));
      expect(await page.title()).toBe('Set your password');
      // In the tenant's look: the page is for one person of that tenant.
      expect(await page.locator('.brand').textContent()).toContain('Wayne Enterprises');
      await shoot(page, 'invitation');
      await page.getByLabel('New password', { exact: true }).fill('password1234');
      await page.getByLabel('New password again').fill('password1234');
      await page.getByRole('button', { name: 'Set password and sign in' }).click();
      await page.waitForLoadState('domcontentloaded');
      expect(await page.locator('#password-error').textContent()).toContain('too easy to guess');
      await shoot(page, 'invitation-refused');
      await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
      await page.getByLabel('New password again').fill(NEW_PASSWORD);
      await Promise.all([page.waitForURL(`${base}/account`), page.getByRole('button', { name: 'Set password and sign in' }).click()]);
      expect(await page.locator('h1').textContent()).toBe('You are signed in');
      expect(await page.locator('main').textContent()).toContain('selina@wayne.example');
      await shoot(page, 'account');

      // Change it on the account page: the current one, the new one twice.
      await page.getByLabel('Current password').fill(NEW_PASSWORD);
      await page.getByLabel('New password', { exact: true }).fill(RESET_PASSWORD);
      await page.getByLabel('New password again').fill(RESET_PASSWORD);
      const beforeNotice = smtp.received.length;
      await Promise.all([page.waitForURL(`${base}/account?changed=1`), page.getByRole('button', { name: 'Change password' }).click()]);
      expect(await page.getByRole('status').first().textContent()).toContain('Your password was changed');
      await shoot(page, 'account-changed');
      expect((await smtp.waitForTo('selina@wayne.example', beforeNotice)).subject).toBe('Your password was changed');
      expect(violations).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('forgot password -> mail over SMTP -> a new password -> sign in with it', async () => {
    const tenant = await makeTenant(t.ds, { name: 'Gotham Analytics' });
    await makeUser(t.ds, tenant.id, { email: 'alfred@gotham.example', password: NEW_PASSWORD, firstName: 'Alfred' });
    const { context, page, violations } = await newPage();
    try {
      await page.goto(`${base}/login?tenant=${tenant.slug}`);
      await shoot(page, 'login');
      await page.getByRole('link', { name: 'Forgot password?' }).click();
      await page.waitForLoadState('domcontentloaded');
      expect(await page.getByLabel('Organization').inputValue()).toBe(tenant.slug);
      await shoot(page, 'forgot');
      await page.getByLabel('Email').fill('alfred@gotham.example');
      const before = smtp.received.length;
      await page.getByRole('button', { name: 'Send the link' }).click();
      await page.waitForLoadState('domcontentloaded');
      expect(await page.locator('h1').textContent()).toBe('Check your email');
      await shoot(page, 'forgot-sent');
      const mail = await smtp.waitForTo('alfred@gotham.example', before);
      expect(mail.subject).toBe('Reset your password');

      await page.goto(linkIn(mail.text));
      expect(await page.title()).toBe('Choose a new password');
      await shoot(page, 'reset');
      await page.getByLabel('New password', { exact: true }).fill(RESET_PASSWORD);
      await page.getByLabel('New password again').fill(RESET_PASSWORD);
      await page.getByRole('button', { name: 'Change password' }).click();
      await page.waitForLoadState('domcontentloaded');
      expect(await page.locator('h1').textContent()).toBe('Password changed');
      await shoot(page, 'reset-done');
      await page.getByRole('link', { name: 'Sign in' }).click();
      await page.waitForLoadState('domcontentloaded');
      expect(await page.getByLabel('Email').inputValue()).toBe('alfred@gotham.example');
      await page.getByLabel('Password').fill(RESET_PASSWORD);
      await Promise.all([page.waitForURL(`${base}/account`), page.getByRole('button', { name: 'Sign in' }).click()]);
      expect(await page.locator('h1').textContent()).toBe('You are signed in');

      // The link works once.
      await page.goto(linkIn(mail.text));
      expect(await page.locator('h1').textContent()).toBe('This link no longer works');
      await shoot(page, 'link-used');
      expect(violations).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
