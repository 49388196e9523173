import { Page } from 'playwright-core';
import { TestApp } from '../setup/app';
import { consoleInBrowser, describeBrowser } from '../support/console-browser';

/**
 * The console for the products that verify our tokens with a public key (Grafana, Qlik Cloud),
 * in a real browser with JavaScript off: the target forms from their schemas, the Setup panel
 * (Grafana's [auth.jwt] block with the target's JWKS URL; Qlik's issuer), the signing keys
 * with their PEM, and a rotation through its confirmation page, after which the next key's PEM
 * is shown beside the signing one. Screenshots at 1280 and 390 px.
 */
describeBrowser('console: Grafana and Qlik Cloud targets (signing keys) in a real browser', () => {
  const ui = consoleInBrowser();
  const { context, signIn, submit, click, shots } = ui;
  let t: TestApp;
  let base: string;

  beforeAll(async () => {
    ({ t, base } = ui);
  }, 120_000);

  const pems = async (page: Page) => (await page.locator('textarea[id^="key-pem"]').allTextContents()).map((s) => s.trim());

  it('creates a Grafana and a Qlik Cloud target from their forms; shows their setup and keys; rotates Qlik\'s keys after asking', async () => {
    const { ctx, page } = await context();
    try {
      await signIn(page);
      // Grafana, from its schema: no secret to paste, a key pair made with the target.
      await page.goto(`${base}/console/targets/new?kind=grafana`);
      expect(await page.locator('#target-secrets_secret').count()).toBe(0);
      await page.locator('#target-name').fill('Grafana');
      await page.locator('#target-slug').fill('grafana');
      await page.locator('#target-baseUrl').fill('https://grafana.example.com');
      await page.locator('#target-settings_alg').selectOption('ES256');
      await shots(page, 'grafana-new-target');
      await submit(page, 'Create Grafana target');
      expect(await page.locator('h1').textContent()).toBe('Grafana');
      const ini = await page.locator('dl.setup').textContent();
      expect(ini).toContain(`jwk_set_url = ${base}/targets/grafana/jwks.json`);
      expect(ini).toContain('expect_claims = {"aud":"https://grafana.example.com"}');
      expect(await page.locator('#keys-h').textContent()).toBe('Signing keys');
      expect(await page.locator('table').last().textContent()).toContain('ES256');
      expect(await pems(page)).toEqual([expect.stringMatching(/^-----BEGIN PUBLIC KEY-----[\s\S]+-----END PUBLIC KEY-----$/)]);
      await shots(page, 'grafana-target');

      // Qlik Cloud.
      await page.goto(`${base}/console/targets/new?kind=qlik`);
      await page.locator('#target-name').fill('Qlik Cloud');
      await page.locator('#target-slug').fill('qlik');
      await page.locator('#target-baseUrl').fill('https://acme.eu.qlikcloud.com');
      await page.locator('#target-settings_issuer').fill('https://idp.example.com');
      await submit(page, 'Create Qlik Cloud target');
      expect(await page.locator('h1').textContent()).toBe('Qlik Cloud');
      const targetPath = new URL(page.url()).pathname;
      const [first] = await pems(page);
      expect(first).toMatch(/^-----BEGIN PUBLIC KEY-----/);
      const jwks = (await (await fetch(`${base}/targets/qlik/jwks.json`)).json()) as { keys: { kid: string }[] };
      expect(jwks.keys).toHaveLength(1);
      expect(await page.locator('#keys-h + p + .table-wrap').textContent()).toContain(jwks.keys[0].kid);

      // Rotation: a confirmation page, then both keys with their PEM; the JWKS publishes both.
      await click(page, 'Rotate keys…');
      expect(await page.locator('h2').first().textContent()).toMatch(/^Rotate the signing keys of Qlik Cloud\?/);
      await shots(page, 'qlik-rotate-confirm');
      await submit(page, 'Rotate now');
      expect(new URL(page.url()).pathname).toBe(targetPath);
      expect(await page.locator('body').textContent()).toContain('New signing key published');
      const after = await pems(page);
      expect(after).toHaveLength(2);
      expect(after).toContain(first);
      expect(new Set(after).size).toBe(2);
      expect(((await (await fetch(`${base}/targets/qlik/jwks.json`)).json()) as { keys: unknown[] }).keys).toHaveLength(2);
      await shots(page, 'qlik-target-rotated');

      // While the new key waits, the button leads to a page saying so, with no form.
      await click(page, 'Rotate keys…');
      expect(await page.locator('h2').first().textContent()).toBe('A rotation is under way');
      expect(await page.getByRole('button', { name: 'Rotate now' }).count()).toBe(0);
    } finally {
      await ctx.close();
    }
  });
});
