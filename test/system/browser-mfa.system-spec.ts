import * as fs from 'node:fs';
import { generateSync } from 'otplib';
import { Browser, BrowserContext, chromium, Page } from 'playwright-core';
import { makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { freePort } from '../setup/global-setup';

/**
 * Two-step verification in a real browser: a passkey registered and then used through
 * Chromium's virtual authenticator (DevTools protocol, WebAuthn domain), with the script and
 * @simplewebauthn/browser served by us under the pages' CSP. Screenshots at 1280 and 390 px
 * go to SHOTS_DIR or /tmp/shots-p23-mfa/ (looked at by a person; the test checks the pages themselves).
 */
const CHROMIUM = '/usr/bin/chromium';
const available = fs.existsSync(CHROMIUM);
if (!available && !process.env.CI) console.warn(`browser-mfa: ${CHROMIUM} not found, skipping (apt-get install chromium; CI fails instead)`);
const describeBrowser = available || process.env.CI ? describe : describe.skip;

const PASSWORD = 'correct horse battery staple';
const SHOTS = process.env.SHOTS_DIR ?? '/tmp/shots-p23-mfa';

describeBrowser('passkeys in a real browser', () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    // WebAuthn needs a domain for the RP ID (an IP address is not one), and localhost is a
    // secure context over plain http.
    const port = await freePort();
    t = await createTestApp({ env: { PORT: String(port), PUBLIC_URL: `http://localhost:${port}` } });
    await t.listen(port);
    base = `http://localhost:${port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--host-resolver-rules=MAP localhost 127.0.0.1'],
    });
    fs.mkdirSync(SHOTS, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  async function shoot(page: Page, name: string): Promise<void> {
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: 900 });
      await page.screenshot({ path: `${SHOTS}/${name}-${width}.png`, fullPage: true });
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  }

  async function signIn(page: Page, tenant: string, email: string, next?: string): Promise<void> {
    await page.goto(`${base}/login?tenant=${tenant}${next ? `&next=${encodeURIComponent(next)}` : ''}`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForLoadState('domcontentloaded');
  }

  it('a required policy: registers a passkey at the first sign-in, adds an authenticator app, then signs in with each', async () => {
    const tenant = await makeTenant(t.ds, { name: 'Wayne Enterprises' });
    await t.ds.query(`UPDATE tenants SET mfa_policy = 'required', brand_accent_color = '#0a5d3a', brand_support_contact = 'help@wayne.example' WHERE id = $1`, [tenant.id]);
    const user = await makeUser(t.ds, tenant.id, { email: 'bruce@wayne.example', password: PASSWORD });
    const context: BrowserContext = await browser.newContext();
    try {
      const page = await context.newPage();
      const violations: string[] = [];
      page.on('console', (m) => {
        if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
      });
      const cdp = await context.newCDPSession(page);
      await cdp.send('WebAuthn.enable');
      const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
        options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
      });

      await signIn(page, tenant.slug, user.email);
      expect(page.url()).toBe(`${base}/login/mfa/setup`);
      expect(await page.locator('h1').textContent()).toBe('Two-step verification');
      expect(await page.locator('main').textContent()).toContain('Your organization asks for a second step');
      // Half signed in: the account page is not open yet.
      expect((await context.cookies(base)).map((c) => c.name)).not.toContain('eidp_session');
      await shoot(page, 'mfa-enrol');

      await page.getByLabel('Name for a new passkey').fill('Laptop');
      await Promise.all([page.waitForURL((u) => u.pathname === '/login/mfa/setup' && u.searchParams.get('done') === 'passkey'), page.getByRole('button', { name: 'Add a passkey or security key' }).click()]);
      expect((await context.cookies(base)).map((c) => c.name)).toContain('eidp_session');
      expect(await page.getByRole('status').first().textContent()).toContain('Passkey added');
      expect(await page.locator('main').textContent()).toContain('Laptop');
      const creds = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      expect(creds.credentials).toHaveLength(1);
      await shoot(page, 'mfa-manage');

      await page.getByRole('button', { name: 'Make recovery codes' }).click();
      await page.waitForLoadState('domcontentloaded');
      expect(await page.locator('ul.codes li').count()).toBe(10);
      await shoot(page, 'mfa-recovery-codes');

      await page.goto(`${base}/login/mfa/setup`);
      await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
      await page.waitForLoadState('load');
      expect(await page.locator('img.qr').evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBeGreaterThan(0);
      await shoot(page, 'mfa-totp-setup');
      // The authenticator app: the key typed from the page into an app (otplib here), its first code turns it on.
      const key = (await page.locator('main code').textContent())!.replace(/\s+/g, '');
      const now = () => Math.floor(Date.now() / 1000);
      await page.getByLabel('Code from the app').fill(generateSync({ secret: key, epoch: now() }));
      await Promise.all([page.waitForURL(`${base}/login/mfa/setup?done=totp`), page.getByRole('button', { name: 'Turn on' }).click()]);
      expect(await page.getByRole('status').first().textContent()).toContain('Authenticator app turned on.');

      // Signed out; the passkey is the second step of the next sign-in.
      await context.clearCookies();
      await signIn(page, tenant.slug, user.email);
      expect(page.url()).toBe(`${base}/login/mfa`);
      await shoot(page, 'mfa-challenge');
      await Promise.all([page.waitForURL(`${base}/account`), page.getByRole('button', { name: 'Use your passkey or security key' }).click()]);
      expect(await page.locator('h1').textContent()).toBe('You are signed in');
      const [used] = await t.ds.query(`SELECT last_used_at FROM mfa_webauthn_credentials WHERE user_id = $1`, [user.id]);
      expect(used.last_used_at).not.toBeNull();
      const [success] = await t.ds.query(`SELECT details FROM audit_events WHERE type = 'login.success' AND tenant_id = $1 ORDER BY id DESC LIMIT 1`, [tenant.id]);
      expect(success.details.mfa).toBe('passkey');

      // And with the authenticator app: the next time step's code (this one was spent turning it on).
      await context.clearCookies();
      await signIn(page, tenant.slug, user.email);
      expect(page.url()).toBe(`${base}/login/mfa`);
      await page.getByLabel('Code from your authenticator app, or a recovery code').fill(generateSync({ secret: key, epoch: now() + 30 }));
      await Promise.all([page.waitForURL(`${base}/account`), page.getByRole('button', { name: 'Verify' }).click()]);
      expect(await page.locator('h1').textContent()).toBe('You are signed in');
      const [viaTotp] = await t.ds.query(`SELECT details FROM audit_events WHERE type = 'login.success' AND tenant_id = $1 ORDER BY id DESC LIMIT 1`, [tenant.id]);
      expect(viaTotp.details.mfa).toBe('totp');
      expect(violations).toEqual([]);
    } finally {
      await context.close();
    }
  }, 120_000);

  it('a required policy met with a passkey during a sign-in to a BI tool: recovery codes offered, then on to where the sign-in was going', async () => {
    const tenant = await makeTenant(t.ds, { name: 'Stark Industries' });
    await t.ds.query(`UPDATE tenants SET mfa_policy = 'required' WHERE id = $1`, [tenant.id]);
    const user = await makeUser(t.ds, tenant.id, { email: 'pepper@stark.example', password: PASSWORD });
    const next = '/sso/mb-stark?return_to=%2Fdashboard%2F3';
    const context: BrowserContext = await browser.newContext();
    try {
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      await cdp.send('WebAuthn.enable');
      await cdp.send('WebAuthn.addVirtualAuthenticator', {
        options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
      });
      await signIn(page, tenant.slug, user.email, next);
      expect(page.url()).toBe(`${base}/login/mfa/setup`);
      await Promise.all([page.waitForURL((u) => u.pathname === '/login/mfa/setup' && u.searchParams.get('done') === 'passkey'), page.getByRole('button', { name: 'Add a passkey or security key' }).click()]);
      expect((await context.cookies(base)).map((c) => c.name)).toContain('eidp_session');
      // Where the sign-in was going is not lost: a way on, after the offer of recovery codes.
      expect(await page.getByRole('link', { name: 'Continue' }).getAttribute('href')).toBe(next);
      await shoot(page, 'mfa-enrolled-passkey-continue');
      await page.getByRole('button', { name: 'Make recovery codes' }).click();
      await page.waitForLoadState('domcontentloaded');
      expect(await page.locator('ul.codes li').count()).toBe(10);
      expect(await page.getByRole('link', { name: 'I have saved them — continue' }).getAttribute('href')).toBe(next);
    } finally {
      await context.close();
    }
  }, 120_000);
});
