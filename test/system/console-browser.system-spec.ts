import * as fs from 'node:fs';
import * as path from 'node:path';
import { Browser, BrowserContext, chromium, Page } from 'playwright-core';
import { makeTenant, makeUser } from '../factories';
import { FakeMetabase, startFakeMetabase } from '../fakes/metabase';
import { createTestApp, TestApp } from '../setup/app';
import { freePort } from '../setup/global-setup';

/**
 * The operator console in a real browser (Debian's chromium via playwright-core), with
 * JavaScript OFF for every action: plain forms and POST-redirect-GET. One browser per file.
 * Screenshots of each main page go to test-output/screenshots/ (git-ignored).
 */
const CHROMIUM = '/usr/bin/chromium';
const available = fs.existsSync(CHROMIUM);
const describeBrowser = available || process.env.CI ? describe : describe.skip;
const SHOTS = path.join(__dirname, '../../test-output/screenshots');

const OP_EMAIL = 'ops@platform.example';
const OP_PASSWORD = 'operator password 0001';
const MB_SECRET = 'metabase-jwt-secret-0123456789abcdef';
const PASSWORD = 'correct horse battery staple';

describeBrowser('operator console in a real browser', () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let mb: FakeMetabase;

  beforeAll(async () => {
    const port = await freePort();
    t = await createTestApp({
      env: { PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, BOOTSTRAP_OPERATOR_EMAIL: OP_EMAIL, BOOTSTRAP_OPERATOR_PASSWORD: OP_PASSWORD },
    });
    base = await t.listen(port);
    mb = await startFakeMetabase({ jwtSecret: MB_SECRET });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    fs.mkdirSync(SHOTS, { recursive: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await mb?.close();
    await t?.close();
  });

  async function context(js = false, width = 1280): Promise<{ ctx: BrowserContext; page: Page; violations: string[] }> {
    const ctx = await browser.newContext({ javaScriptEnabled: js, viewport: { width, height: 900 } });
    const page = await ctx.newPage();
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    return { ctx, page, violations };
  }

  async function signIn(page: Page, tenant: string, email: string, password: string, next = '/console'): Promise<void> {
    await page.goto(`${base}${next}`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.getByLabel('Organization').fill(tenant);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await Promise.all([page.waitForURL(`${base}${next}`), page.getByRole('button', { name: 'Sign in' }).click()]);
  }

  const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `console-${name}.png`), fullPage: true });

  /** Submits the form holding `button` and waits for the next page. */
  async function submit(page: Page, button: string): Promise<void> {
    await Promise.all([page.waitForLoadState('domcontentloaded'), page.waitForNavigation(), page.getByRole('button', { name: button, exact: true }).click()]);
  }

  it('an operator creates a tenant, a user, a Metabase target and a grant, then opens Metabase signed in', async () => {
    const { ctx, page, violations } = await context();
    try {
      await signIn(page, 'operators', OP_EMAIL, OP_PASSWORD);
      expect(await page.locator('h1').textContent()).toBe('Overview');
      await shot(page, 'overview');

      // A tenant.
      await page.getByRole('link', { name: 'Tenants' }).click();
      await page.locator('#create-name').fill('Acme Corp');
      await page.locator('#create-slug').fill('acme');
      await submit(page, 'Create tenant');
      expect(await page.locator('h1').textContent()).toBe('Acme Corp');
      expect(await page.getByRole('status').textContent()).toBe('Tenant created.');
      const acmeId = new URL(page.url()).pathname.split('/').pop()!;

      // The tenant setting for company sign-in: saved, shown back, and put back.
      await page.locator('#settings-passwordSignIn').selectOption('false');
      await submit(page, 'Save');
      expect(await page.getByRole('status').textContent()).toBe('Tenant saved.');
      expect(await page.locator('#settings-passwordSignIn').inputValue()).toBe('false');
      expect((await t.ds.query(`SELECT password_sign_in FROM tenants WHERE id = $1`, [acmeId]))[0].password_sign_in).toBe(false);
      fs.mkdirSync('/tmp/shots-r2-inbound', { recursive: true });
      for (const width of [1280, 390]) {
        await page.setViewportSize({ width, height: 900 });
        await page.locator('#settings-h').scrollIntoViewIfNeeded();
        await page.screenshot({ path: `/tmp/shots-r2-inbound/console-tenant-settings-${width}.png` });
      }
      await page.setViewportSize({ width: 1280, height: 900 });
      await page.locator('#settings-passwordSignIn').selectOption('true');
      await submit(page, 'Save');

      // A group, then a user in it.
      await page.locator('#group-name').fill('analysts');
      await submit(page, 'Add group');
      await page.locator('#user-email').fill('ada@acme.example');
      await page.locator('#user-firstName').fill('Ada');
      await page.locator('#user-lastName').fill('Lovelace');
      await page.locator('#user-password').fill(PASSWORD);
      await page.getByLabel('analysts').check();
      await submit(page, 'Add user');
      expect(await page.locator('h1').textContent()).toBe('ada@acme.example');
      await shot(page, 'user');

      // A Metabase target, from the product's settings schema.
      await page.getByRole('link', { name: 'Targets' }).click();
      await page.getByRole('link', { name: 'New Metabase target' }).click();
      await page.locator('#target-name').fill('Metabase (prod)');
      await page.locator('#target-slug').fill('mb');
      await page.locator('#target-baseUrl').fill(mb.url);
      await page.locator('#target-secrets_secret').fill(MB_SECRET);
      await page.locator('#target-settings_tokenTtlSeconds').fill('300');
      await submit(page, 'Create Metabase target');
      expect(await page.locator('h1').textContent()).toBe('Metabase (prod)');
      // The Setup panel: exactly what to type into Metabase's JWT screen.
      expect(await page.locator('#setup-0').textContent()).toBe(`${base}/sso/mb`);
      expect(await page.locator('#target-secrets_secret').inputValue()).toBe('');
      expect(await page.getByText(/— set; type a new one to replace it/).count()).toBe(1);
      const targetId = new URL(page.url()).pathname.split('/').pop()!;

      // The access grant: group mappings as rows.
      await page.goto(`${base}/console/tenants/${acmeId}`);
      await page.getByLabel('Grant a target').selectOption(targetId);
      await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Set up access' }).click()]);
      await page.locator('#gm_local-0').fill('analysts');
      await page.locator('#gm_product-0').fill('Analysts, Viewers');
      await page.locator('#attr_key-0').fill('region');
      await page.locator('#attr_value-0').fill('emea');
      // Typed as in the API's JSON: 42 a number, true a boolean.
      await page.locator('#attr_key-1').fill('customer_id');
      await page.locator('#attr_value-1').fill('42');
      await page.locator('#attr_key-2').fill('beta');
      await page.locator('#attr_value-2').fill('true');
      await submit(page, 'Grant access');
      expect(await page.getByRole('status').textContent()).toBe('Access grant saved.');
      expect(await page.locator('#gm_product-0').inputValue()).toBe('Analysts, Viewers');
      const [grant] = await t.ds.query(`SELECT attributes FROM tenant_target_access WHERE tenant_id = $1`, [acmeId]);
      expect(grant.attributes).toEqual({ region: 'emea', customer_id: 42, beta: true });
      // Shown back so that saving again keeps the types; then three blank rows, whatever the state.
      const shown = await page.locator('input[name="attr_value"]').evaluateAll((els) => els.map((e) => (e as unknown as { value: string }).value));
      expect(shown.filter(Boolean).sort()).toEqual(['42', 'emea', 'true']);
      expect(await page.locator('input[name="attr_key"]').count()).toBe(3 + 3);
      expect(await page.locator('input[name="gm_local"]').count()).toBe(1 + 3);
      await shot(page, 'access-grant');

      // Try it: the claims Ada's token would carry, built by Metabase's own claims builder.
      await page.getByRole('link', { name: /Try it/ }).click();
      await page.getByLabel('User email').fill('ada@acme.example');
      await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Show claims' }).click()]);
      const claims = JSON.parse((await page.locator('#claims').textContent())!);
      expect(claims).toMatchObject({ email: 'ada@acme.example', first_name: 'Ada', groups: ['Analysts', 'Viewers'], region: 'emea', customer_id: 42, beta: true });
      expect(await t.ds.query(`SELECT 1 FROM issued_tokens`)).toHaveLength(0);
      await shot(page, 'try-it');

      // The operator's own tenant needs access too before "Open Metabase" signs them in.
      const [ops] = await t.ds.query(`SELECT id FROM tenants WHERE operator`);
      await page.goto(`${base}/console/tenants/${ops.id}/access/${targetId}`);
      await submit(page, 'Grant access');
      await page.goto(`${base}/console/tenants/${acmeId}/access/${targetId}/try`);
      await Promise.all([page.waitForURL(`${mb.url}/`), page.getByRole('link', { name: 'Open Metabase' }).click()]);
      expect(JSON.parse((await page.locator('body').textContent())!)).toEqual({ page: '/' });
      expect(mb.logins.map((l) => l.email)).toEqual([OP_EMAIL]);
      expect(mb.rejections).toEqual([]);

      // Every change was audited with the operator as actor.
      const [op] = await t.ds.query(`SELECT id FROM users WHERE email = $1`, [OP_EMAIL]);
      const events = await t.ds.query(`SELECT type FROM audit_events WHERE actor = $1 ORDER BY id`, [`user:${op.id}`]);
      expect(events.map((e: { type: string }) => e.type)).toEqual(
        expect.arrayContaining(['tenant.created', 'group.created', 'user.created', 'target.created', 'access.granted', 'sso.token_issued']),
      );

      await page.goto(`${base}/console/targets/${targetId}`);
      await shot(page, 'target');

      // The overview: counts, and the last 24 h drawn from the audit trail.
      await page.goto(`${base}/console`);
      expect(await page.locator('.legend').first().textContent()).toContain('SSO mb (1)');
      expect(await page.locator('#activity-wide-d').textContent()).toContain('Sign-ins: 1');
      await shot(page, 'overview');

      // The audit log, filtered by type and tenant.
      await page.getByRole('link', { name: 'Audit log' }).click();
      await page.getByLabel('Event type').selectOption('user.created');
      await page.getByLabel('Tenant').selectOption(acmeId);
      await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Show events' }).click()]);
      const rows = page.locator('tbody tr');
      expect(await rows.count()).toBe(1);
      expect(await rows.first().textContent()).toContain('ada@acme.example');
      await shot(page, 'audit');
      expect(violations).toEqual([]);
    } finally {
      await ctx.close();
    }
  }, 120_000);

  it('with JavaScript on, the Setup panel gets copy buttons and the CSP holds (one script, from us)', async () => {
    const { ctx, page, violations } = await context(true);
    try {
      await signIn(page, 'operators', OP_EMAIL, OP_PASSWORD, '/console/targets');
      await page.getByRole('link', { name: 'Metabase (prod)' }).click();
      await page.getByRole('button', { name: 'Copy JWT Identity Provider URI' }).waitFor();
      expect(await page.getByRole('button', { name: /^Copy / }).count()).toBeGreaterThanOrEqual(5);
      await shot(page, 'target-js');
      expect(violations).toEqual([]);
    } finally {
      await ctx.close();
    }
  }, 120_000);

  it('a refused form keeps what was typed and says what is wrong next to the field; nothing is written', async () => {
    const { ctx, page } = await context();
    try {
      await signIn(page, 'operators', OP_EMAIL, OP_PASSWORD, '/console/tenants');
      await page.locator('#create-name').fill('Keep Me');
      await page.locator('#create-slug').fill('Not A Slug!');
      await submit(page, 'Create tenant');
      expect(await page.locator('#create-slug-error').textContent()).toMatch(/^Slug must be 1-63 lower-case letters/);
      expect(await page.locator('#create-slug').getAttribute('aria-invalid')).toBe('true');
      expect(await page.locator('#create-name').inputValue()).toBe('Keep Me');
      expect(await page.locator('#create-slug').inputValue()).toBe('Not A Slug!');
      await shot(page, 'form-error');

      // A product rule (Metabase: token lifetime 60-600 s), reported by the product's own check.
      await page.goto(`${base}/console/targets/new?kind=metabase`);
      await page.locator('#target-slug').fill('mb-bad');
      await page.locator('#target-baseUrl').fill('https://mb.example.com');
      await page.locator('#target-secrets_secret').fill(MB_SECRET);
      await page.locator('#target-settings_tokenTtlSeconds').fill('5000');
      await page.locator('#target-settings_emailClaim').fill('mail');
      await submit(page, 'Create Metabase target');
      expect(await page.locator('#target-settings_tokenTtlSeconds-error').textContent()).toContain('SSO token lifetime (s) must be a whole number from 60 to 600');
      expect(await page.locator('#target-settings_emailClaim').inputValue()).toBe('mail');
      expect(await page.locator('#target-secrets_secret').inputValue()).toBe('');
      await shot(page, 'target-form-error');
      expect(await t.ds.query(`SELECT 1 FROM tenants WHERE name = 'Keep Me'`)).toHaveLength(0);
      expect(await t.ds.query(`SELECT 1 FROM targets WHERE slug = 'mb-bad'`)).toHaveLength(0);
    } finally {
      await ctx.close();
    }
  }, 120_000);

  it('an operator deletes a tenant: the button asks first, names what goes, and wants the slug typed (at 390 px)', async () => {
    const { ctx, page } = await context(false, 390);
    try {
      await signIn(page, 'operators', OP_EMAIL, OP_PASSWORD, '/console/tenants');
      await page.locator('#create-name').fill('Short Lived');
      await page.locator('#create-slug').fill('short-lived');
      await submit(page, 'Create tenant');
      await submit(page, 'Delete tenant…');
      expect(await page.locator('h1').textContent()).toBe('Delete Short Lived?');
      expect(await page.locator('main').textContent()).toContain('0 users');
      await shot(page, 'tenant-delete-confirm-390');
      await page.getByLabel('Type short-lived to confirm').fill('short');
      await submit(page, 'Delete tenant');
      expect(await page.locator('#confirm-confirmSlug-error').textContent()).toContain('Type the slug short-lived exactly');
      expect(await t.ds.query(`SELECT 1 FROM tenants WHERE slug = 'short-lived'`)).toHaveLength(1);
      await page.getByLabel('Type short-lived to confirm').fill('short-lived');
      await submit(page, 'Delete tenant');
      expect(new URL(page.url()).pathname).toBe('/console/tenants');
      expect(await page.getByRole('status').textContent()).toContain('Tenant deleted');
      expect(await t.ds.query(`SELECT 1 FROM tenants WHERE slug = 'short-lived'`)).toHaveLength(0);
    } finally {
      await ctx.close();
    }
  }, 120_000);

  it('a tenant admin sees only their own tenant, and another tenant\'s URL is a 404 (at 390 px)', async () => {
    const mine = await makeTenant(t.ds, { name: 'Globex' });
    const other = await makeTenant(t.ds, { name: 'Initech' });
    const admin = await makeUser(t.ds, mine.id, { email: 'hank@globex.example', password: PASSWORD, firstName: 'Hank', lastName: 'Scorpio' });
    await makeUser(t.ds, mine.id, { email: 'homer@globex.example' });
    await t.ds.query(`UPDATE users SET role = 'tenant_admin' WHERE id = $1`, [admin.id]);
    const { ctx, page } = await context(false, 390);
    try {
      await signIn(page, mine.slug, admin.email, PASSWORD);
      expect(await page.getByRole('link', { name: 'Targets' }).count()).toBe(0);
      await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'My organization' }).click()]);
      expect(await page.locator('h1').textContent()).toBe('Globex');
      expect(await page.locator('main').textContent()).toContain('homer@globex.example');
      await shot(page, 'tenant-admin-390');
      // The page fits: nothing wider than the viewport but the scrollable tables.
      const width = await page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth);
      expect(width).toBeLessThanOrEqual(390);

      const res = await page.goto(`${base}/console/tenants/${other.id}`);
      expect(res!.status()).toBe(404);
      expect(await page.locator('main').textContent()).not.toContain('Initech');
    } finally {
      await ctx.close();
    }
  }, 120_000);
});
