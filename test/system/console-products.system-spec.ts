import { grantAccess, makeTenant, makeUser } from '../factories';
import { FakeSigma, startFakeSigma } from '../fakes/sigma';
import { TestApp } from '../setup/app';
import { consoleInBrowser, describeBrowser, OP_EMAIL } from '../support/console-browser';

/**
 * The console for the products whose token the host page carries (Tableau: a token for its
 * SDK; Sigma: a workbook URL), in a real browser with JavaScript off: the target forms come
 * from the definitions' schemas, the Setup panel from their guides, and Try it shows the
 * claims and opens the product as the operator. Screenshots at 1280 and 390 px.
 */
const TABLEAU_SECRET = 'tableau-connected-app-secret-value-0123456789';
const SIGMA_SECRET = 'sigma-embed-secret-0123456789abcdef0123456789abcdef';

describeBrowser('console: Tableau and Sigma targets in a real browser', () => {
  const ui = consoleInBrowser();
  const { context, signIn, submit, shots } = ui;
  let t: TestApp;
  let base: string;
  let sigma: FakeSigma;

  beforeAll(async () => {
    ({ t, base } = ui);
    sigma = await startFakeSigma({ clientId: 'sigma-client-0001', secret: SIGMA_SECRET, organization: 'acme-analytics' });
  }, 120_000);
  afterAll(async () => {
    await sigma?.close();
  });

  it('creates a Tableau and a Sigma target from their forms, shows their setup, their claims, and opens Sigma as the operator', async () => {
    const { ctx, page } = await context();
    try {
      await signIn(page);
      // Tableau, from its schema.
      await page.goto(`${base}/console/targets/new?kind=tableau`);
      await page.locator('#target-name').fill('Tableau Cloud');
      await page.locator('#target-slug').fill('tab');
      await page.locator('#target-baseUrl').fill('https://prod-useast-b.online.tableau.com');
      await page.locator('#target-secrets_secret').fill(TABLEAU_SECRET);
      await page.locator('#target-settings_clientId').fill('0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d');
      await page.locator('#target-settings_secretId').fill('9f8e7d6c-5b4a-3928-1706-f5e4d3c2b1a0');
      await page.locator('#target-settings_scopes').fill('tableau:views:embed\ntableau:insights:embed');
      await page.locator('#target-settings_allowedOrigins').fill('https://app.example.com');
      await submit(page, 'Create Tableau target');
      expect(await page.locator('h1').textContent()).toBe('Tableau Cloud');
      const setup = await page.locator('dl.setup').textContent();
      expect(setup).toContain('0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d');
      expect(setup).toContain(`${base}/embed/tab/token`);
      expect(setup).not.toContain(TABLEAU_SECRET);
      const tableauId = new URL(page.url()).pathname.split('/').pop()!;
      await shots(page, 'tableau-target');

      // A form error from the schema, next to the field: a lifetime over Tableau's 10 minutes.
      await page.locator('#target-settings_tokenTtlSeconds').fill('900');
      await submit(page, 'Save target');
      expect(await page.locator('.field-error').first().textContent()).toMatch(/30 to 600/);

      // Sigma.
      await page.goto(`${base}/console/targets/new?kind=sigma`);
      await page.locator('#target-name').fill('Sigma');
      await page.locator('#target-slug').fill('sig');
      await page.locator('#target-baseUrl').fill(sigma.url);
      await page.locator('#target-secrets_secret').fill(SIGMA_SECRET);
      await page.locator('#target-settings_clientId').fill('sigma-client-0001');
      await page.locator('#target-settings_organization').fill('acme-analytics');
      await submit(page, 'Create Sigma target');
      expect(await page.locator('h1').textContent()).toBe('Sigma');
      expect(await page.locator('dl.setup').textContent()).toContain(`${base}/embed/sig/workbook/`);
      const sigmaId = new URL(page.url()).pathname.split('/').pop()!;
      await shots(page, 'sigma-target');

      // Try it: the claims a tenant's user would carry, from each product's own builder.
      const acme = await makeTenant(t.ds, { attributes: { region: 'emea' } });
      await makeUser(t.ds, acme.id, { email: 'ada@acme.example' });
      await grantAccess(t.ds, acme.id, tableauId, { settings: { userAttributes: ['region'] } });
      await grantAccess(t.ds, acme.id, sigmaId, { settings: { userAttributes: ['region'] } });
      await page.goto(`${base}/console/tenants/${acme.id}/access/${tableauId}/try?email=ada%40acme.example`);
      const tableauClaims = JSON.parse((await page.locator('#claims').textContent())!);
      expect(tableauClaims).toMatchObject({ aud: 'tableau', sub: 'ada@acme.example', scp: ['tableau:views:embed', 'tableau:insights:embed'], region: 'emea' });
      await shots(page, 'tableau-try');
      await page.goto(`${base}/console/tenants/${acme.id}/access/${sigmaId}/try?email=ada%40acme.example`);
      expect(JSON.parse((await page.locator('#claims').textContent())!)).toMatchObject({ sub: 'ada@acme.example', ver: '1.1', user_attributes: { region: 'emea' } });

      // Open Sigma as the operator: their own tenant needs a grant first.
      const [ops] = await t.ds.query(`SELECT id FROM tenants WHERE slug = 'operators'`);
      await grantAccess(t.ds, ops.id, sigmaId);
      await page.goto(`${base}/console/tenants/${acme.id}/access/${sigmaId}/try`);
      await page.getByLabel(/Workbook/).fill('Sales-1a2b3c');
      await submit(page, 'Use this workbook');
      await shots(page, 'sigma-try');
      await Promise.all([page.waitForURL((u) => u.pathname === '/acme-analytics/workbook/Sales-1a2b3c'), page.getByRole('link', { name: 'Open Sigma' }).click()]);
      expect(await page.locator('#who').textContent()).toBe(`signed in as ${OP_EMAIL}`);
      expect(sigma.embeds).toHaveLength(1);
    } finally {
      await ctx.close();
    }
  }, 120_000);
});
