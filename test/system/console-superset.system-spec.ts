import { makeTenant, makeUser } from '../factories';
import { TestApp } from '../setup/app';
import { consoleInBrowser, describeBrowser, OP_EMAIL, OP_PASSWORD } from '../support/console-browser';

/**
 * The console for Apache Superset, in a real browser with JavaScript off: the target form
 * from the definition's schema, the Setup panel (superset_config.py), the access form with
 * its dashboards and row-level security templates (checked when saved), and Try it showing
 * the guest token's claims with the clauses filled. Screenshots at 1280 and 390 px.
 */
const GUEST_SECRET = 'superset-guest-token-secret-0a1b2c3d4e5f6a7b8c9d';
const DASH = '9c1f6a52-3b7e-4d8a-a1c2-5e6f7a8b9c0d';

describeBrowser('console: a Superset target in a real browser', () => {
  const ui = consoleInBrowser();
  const { context, submit, shots } = ui;
  let t: TestApp;
  let base: string;

  beforeAll(async () => {
    ({ t, base } = ui);
  }, 120_000);

  it('creates a sign-mode target from its form, shows what to put in superset_config.py, checks RLS templates and previews the claims', async () => {
    const { ctx, page } = await context();
    try {
      await page.goto(`${base}/console`);
      await page.getByLabel('Organization').fill('operators');
      await page.getByLabel('Email').fill(OP_EMAIL);
      await page.getByLabel('Password').fill(OP_PASSWORD);
      await Promise.all([page.waitForURL(`${base}/console`), page.getByRole('button', { name: 'Sign in' }).click()]);

      await page.goto(`${base}/console/targets/new?kind=superset`);
      await page.locator('#target-name').fill('Superset');
      await page.locator('#target-slug').fill('superset');
      await page.locator('#target-baseUrl').fill('https://superset.example.com');
      await page.locator('#target-secrets_secret').fill(GUEST_SECRET);
      await page.locator('#target-settings_mode').selectOption('sign');
      await page.locator('#target-settings_allowedOrigins').fill('https://app.example.com');
      // Sign mode without an audience: refused, by the field.
      await submit(page, 'Create Apache Superset target');
      expect(await page.locator('.field-error').first().textContent()).toMatch(/Audience \(sign mode\) is required in sign mode/);
      await page.locator('#target-secrets_secret').fill(GUEST_SECRET);
      await page.locator('#target-settings_audience').fill('superset');
      await submit(page, 'Create Apache Superset target');
      expect(await page.locator('h1').textContent()).toBe('Superset');
      const setup = (await page.locator('dl.setup').textContent())!;
      expect(setup).toContain('FEATURE_FLAGS = {"EMBEDDED_SUPERSET": True}');
      expect(setup).toContain('GUEST_TOKEN_JWT_AUDIENCE = "superset"');
      expect(setup).toContain('GUEST_TOKEN_JWT_ALGO = "HS256"');
      expect(setup).toContain('"frame-ancestors": ["https://app.example.com"]');
      expect(setup).toContain(`${base}/embed/superset/superset/<embedded dashboard uuid>/guest-token`);
      expect(setup).not.toContain(GUEST_SECRET);
      const targetId = new URL(page.url()).pathname.split('/').pop()!;
      await shots(page, 'superset-target');

      const acme = await makeTenant(t.ds, { name: 'Acme', attributes: { customer_id: "O'Brien" } });
      await makeUser(t.ds, acme.id, { email: 'ada@acme.example', attributes: { region: 'emea' } });
      await page.goto(`${base}/console/tenants/${acme.id}/access/${targetId}`);
      await page.locator('#grant-settings_dashboards').fill(DASH);
      await page.locator('#grant-settings_rls').fill('* = customer_id = {customer_id\n12 = region = {region}');
      await submit(page, 'Grant access');
      expect(await page.locator('body').textContent()).toContain('Row-level security (every dataset): the clause has a "{" at position 15 that is never closed');
      await shots(page, 'superset-access-error');
      await page.locator('#grant-settings_rls').fill('* = customer_id = {customer_id}\n12 = region = {region}');
      await submit(page, 'Grant access');

      await page.goto(`${base}/console/tenants/${acme.id}/access/${targetId}/try?email=ada%40acme.example`);
      const claims = JSON.parse((await page.locator('#claims').textContent())!);
      expect(claims).toMatchObject({
        user: { username: 'ada@acme.example' },
        rls_rules: [{ clause: "customer_id = 'O''Brien'" }, { dataset: 12, clause: "region = 'emea'" }],
        aud: 'superset',
        type: 'guest',
      });
      await shots(page, 'superset-try');
    } finally {
      await ctx.close();
    }
  }, 120_000);
});
