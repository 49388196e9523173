import { grantAccess, makeTenant, makeUser } from '../factories';
import { TestApp } from '../setup/app';
import { consoleInBrowser, describeBrowser, OP_EMAIL, OP_PASSWORD } from '../support/console-browser';

/**
 * The console for a Power BI target, in a real browser with JavaScript off: the target form
 * from the definition's schema (a schema error next to its field), the Setup panel from its
 * guide (Entra app, admin setting, workspace access, RLS roles) and Try it's preview of what
 * GenerateToken would be asked for a user. Screenshots at 1280 and 390 px.
 */
const SECRET = 'Xq58Q~fake.entra.client.secret-0123456789';
const CLIENT_ID = '6f1c2a44-1d1e-4c8e-9d6c-2a8b9c1d0e7f';
const REPORT = 'f6bfd646-b718-44dc-a378-b73e6b528204';

describeBrowser('console: a Power BI target in a real browser', () => {
  const ui = consoleInBrowser();
  const { submit, shots } = ui;
  let t: TestApp;
  let base: string;

  beforeAll(async () => {
    ({ t, base } = ui);
  }, 120_000);

  it('creates the target from its form, shows its setup guide and previews a user\'s effective identity', async () => {
    const ctx = await ui.browser.newContext({ javaScriptEnabled: false, viewport: { width: 1280, height: 900 } });
    try {
      const page = await ctx.newPage();
      await page.goto(`${base}/console`);
      await page.getByLabel('Organization').fill('operators');
      await page.getByLabel('Email').fill(OP_EMAIL);
      await page.getByLabel('Password').fill(OP_PASSWORD);
      await Promise.all([page.waitForURL(`${base}/console`), page.getByRole('button', { name: 'Sign in' }).click()]);

      await page.goto(`${base}/console/targets/new?kind=powerbi`);
      await page.locator('#target-name').fill('Power BI');
      await page.locator('#target-slug').fill('pbi');
      await page.locator('#target-baseUrl').fill('https://app.powerbi.com');
      await page.locator('#target-secrets_secret').fill(SECRET);
      await page.locator('#target-settings_tenantId').fill('contoso.onmicrosoft.com');
      await page.locator('#target-settings_clientId').fill('not-a-guid');
      await page.locator('#target-settings_workspaceId').fill('be8908da-da25-452e-b220-163f52476cdd');
      await submit(page, 'Create Power BI target');
      expect(await page.locator('.field-error').first().textContent()).toMatch(/GUID/);
      await page.locator('#target-secrets_secret').fill(SECRET);
      await page.locator('#target-settings_clientId').fill(CLIENT_ID);
      await submit(page, 'Create Power BI target');
      expect(await page.locator('h1').textContent()).toBe('Power BI');
      const setup = (await page.locator('dl.setup').textContent())!;
      expect(setup).toContain(CLIENT_ID);
      expect(setup).toContain('contoso.onmicrosoft.com');
      expect(setup).toContain('Service principals can use Fabric APIs');
      expect(setup).toContain('Member or Admin');
      expect(setup).toContain(`${base}/embed/pbi/powerbi/<report id>/token`);
      expect(setup).not.toContain(SECRET);
      const targetId = new URL(page.url()).pathname.split('/').pop()!;
      await shots(page, 'powerbi-target');

      const acme = await makeTenant(t.ds);
      await makeUser(t.ds, acme.id, { email: 'ada@acme.example', groups: ['analysts'] });
      await grantAccess(t.ds, acme.id, targetId, { groupMappings: { analysts: ['Customer'] }, settings: { reports: [REPORT], rowLevelSecurity: true } });
      await page.goto(`${base}/console/tenants/${acme.id}/access/${targetId}/try?email=ada%40acme.example`);
      expect(JSON.parse((await page.locator('#claims').textContent())!)).toEqual({
        reports: [{ id: REPORT }],
        identities: [{ username: 'ada@acme.example', roles: ['Customer'], datasets: ['(the report\'s dataset)'] }],
      });
      // With a grant for the operator's own tenant: where a host page and the demo get a token.
      const [ops] = await t.ds.query(`SELECT id FROM tenants WHERE slug = 'operators'`);
      await grantAccess(t.ds, ops.id, targetId, { settings: { reports: [REPORT] } });
      await page.reload();
      expect(await page.locator('#open-h + p').textContent()).toBe(`A host page asks /embed/pbi/powerbi/<id>/token. The demo page embeds one as you: /demo/powerbi/pbi/<id>.`);
      await shots(page, 'powerbi-try');
      // The access form, from the access schema: the report list and the RLS switch.
      await page.goto(`${base}/console/tenants/${acme.id}/access/${targetId}`);
      expect(await page.locator('#grant-settings_reports').inputValue()).toBe(REPORT);
      expect(await page.locator('#grant-settings_rowLevelSecurity').isChecked()).toBe(true);
      await shots(page, 'powerbi-access');
    } finally {
      await ctx.close();
    }
  }, 120_000);
});
