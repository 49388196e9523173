import { grantAccess, makeTenant, makeUser } from '../factories';
import { FakeLooker, startFakeLooker } from '../fakes/looker';
import { TestApp } from '../setup/app';
import { consoleInBrowser, describeBrowser } from '../support/console-browser';

/**
 * The console for a Looker target, in a real browser with JavaScript off: the form from the
 * definition's schema (permissions refused when Looker has no such permission), the Setup
 * panel from its guide, Try it with the signed parameters, and opening Looker as the operator
 * through the fake Looker. Screenshots at 1280 and 390 px.
 */
const SECRET = 'looker-embed-secret-0123456789abcdef0123456789abcdef';

describeBrowser('console: a Looker target in a real browser', () => {
  const ui = consoleInBrowser();
  const { context, signIn, submit, shots } = ui;
  let t: TestApp;
  let base: string;
  let looker: FakeLooker;

  beforeAll(async () => {
    ({ t, base } = ui);
    looker = await startFakeLooker({ secret: SECRET, models: ['thelook'] });
  }, 120_000);
  afterAll(async () => {
    await looker?.close();
  });

  it('creates a Looker target from its form, shows its setup and signed parameters, and opens Looker as the operator', async () => {
    const { ctx, page } = await context();
    try {
      await signIn(page);
      await page.goto(`${base}/console/targets/new?kind=looker`);
      await page.locator('#target-name').fill('Looker');
      await page.locator('#target-slug').fill('lk');
      await page.locator('#target-baseUrl').fill(looker.url);
      await page.locator('#target-secrets_embedSecret').fill(SECRET);
      await page.locator('#target-settings_models').fill('thelook');
      // A permission Looker does not have: refused next to the field, nothing created.
      await page.locator('#target-settings_permissions').fill('access_data\nsee_user_dashboards\nbe_admin');
      await page.locator('#target-settings_allowedOrigins').fill('https://app.example.com');
      await submit(page, 'Create Looker target');
      expect(await page.getByRole('alert').first().textContent()).toMatch(/settings\.permissions\[2\] must be one of access_data, /);
      await shots(page, 'looker-target-error');
      await page.locator('#target-secrets_embedSecret').fill(SECRET);
      await page.locator('#target-settings_permissions').fill('access_data\nsee_user_dashboards');
      await submit(page, 'Create Looker target');
      expect(await page.locator('h1').textContent()).toBe('Looker');
      const setup = (await page.locator('dl.setup').textContent())!;
      expect(setup).toContain('Admin > Platform > Embed');
      expect(setup).toContain(`${base}/embed/lk/looker/dashboards/`);
      expect(setup).toContain('https://app.example.com');
      expect(setup).not.toContain(SECRET);
      const lookerId = new URL(page.url()).pathname.split('/').pop()!;
      await shots(page, 'looker-target');

      // Try it: the parameters a tenant's user's URL would carry (nothing signed or recorded).
      const acme = await makeTenant(t.ds, { attributes: { customer_id: 'acme-42' } });
      await makeUser(t.ds, acme.id, { email: 'ada@acme.example', firstName: 'Ada', groups: ['analysts'] });
      await grantAccess(t.ds, acme.id, lookerId, { groupMappings: { analysts: ['4'] }, settings: { userAttributes: ['customer_id'] } });
      await page.goto(`${base}/console/tenants/${acme.id}/access/${lookerId}/try?email=ada%40acme.example`);
      const claims = JSON.parse((await page.locator('#claims').textContent())!);
      expect(claims).toMatchObject({ models: ['thelook'], permissions: ['access_data', 'see_user_dashboards'], group_ids: [4], external_group_id: acme.id, user_attributes: { customer_id: 'acme-42' }, access_filters: {} });
      expect(JSON.stringify(claims)).not.toContain('ada@acme.example');
      expect(await Number((await t.ds.query(`SELECT count(*) AS n FROM issued_tokens WHERE target_id = $1`, [lookerId]))[0].n)).toBe(0);

      // Open Looker as the operator: their own tenant needs a grant first.
      const [ops] = await t.ds.query(`SELECT id FROM tenants WHERE slug = 'operators'`);
      await grantAccess(t.ds, ops.id, lookerId);
      await page.goto(`${base}/console/tenants/${acme.id}/access/${lookerId}/try`);
      await page.getByLabel(/Looker content/).fill('explore/thelook/orders');
      await submit(page, 'Use this');
      await shots(page, 'looker-try');
      await Promise.all([page.waitForURL((u) => u.pathname.startsWith('/login/embed/')), page.getByRole('link', { name: 'Open Looker' }).click()]);
      expect(await page.locator('h2').textContent()).toBe('Fake Looker explore/thelook/orders');
      expect(looker.rejections).toEqual([]);
      expect(looker.embeds).toHaveLength(1);
    } finally {
      await ctx.close();
    }
  }, 120_000);
});
