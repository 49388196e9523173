import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Browser, chromium } from 'playwright-core';
import { SessionsService } from '../../src/auth/sessions.service';
import { targetSecretContext } from '../../src/catalog/target-secrets';
import { SecretBox } from '../../src/crypto/secret-box';
import { grantAccess, makeTenant, makeUser } from '../factories';
import { FakeLooker, startFakeLooker } from '../fakes/looker';
import { createTestApp, TestApp } from '../setup/app';
import { freePort } from '../setup/global-setup';

/**
 * The Looker demo page in a real browser, driving the real @looker/embed-sdk: the page loads
 * the SDK from us, the SDK asks our endpoint for the signed URL (its `src` with embed_domain
 * = the page's origin), frames it, and connects over the fake Looker page's message channel
 * (Syn/SynAck/Ack) and hears `dashboard:loaded`. The SDK speaks only https to Looker and
 * takes messages only from https://<host>, so the fake serves TLS with a throwaway
 * self-signed certificate (openssl) and Chromium resolves looker.example.test to it.
 */
const CHROMIUM = '/usr/bin/chromium';
const describeBrowser = fs.existsSync(CHROMIUM) || process.env.CI ? describe : describe.skip;
const SHOTS = process.env.SHOTS_DIR ?? path.resolve(__dirname, '../../test-output/screenshots');
const SECRET = 'looker-embed-secret-0123456789abcdef0123456789abcdef';
const HOST = 'looker.example.test';

function selfSigned(): { key: string; cert: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'looker-tls-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', `/CN=${HOST}`,
      '-addext', `subjectAltName=DNS:${HOST}`, '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
    return { key: fs.readFileSync(path.join(dir, 'key.pem'), 'utf8'), cert: fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describeBrowser('Looker demo page in a real browser (@looker/embed-sdk)', () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let looker: FakeLooker;

  beforeAll(async () => {
    const port = await freePort();
    t = await createTestApp({ env: { PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` } });
    base = await t.listen(port);
    looker = await startFakeLooker({ secret: SECRET, hostname: HOST, models: ['thelook'], tls: selfSigned() });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--ignore-certificate-errors', `--host-resolver-rules=MAP ${HOST} 127.0.0.1`],
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await looker?.close();
    await t?.close();
  });

  it('the SDK gets a URL the fake Looker accepts, frames it, connects and hears the dashboard load', async () => {
    const tenant = await makeTenant(t.ds, { name: 'Acme', attributes: { customer_id: 'acme-42' } });
    const user = await makeUser(t.ds, tenant.id, { email: 'ada@acme.example', firstName: 'Ada', lastName: 'Lovelace', groups: ['analysts'] });
    const [target] = await t.ds.query(`INSERT INTO targets (slug, kind, name, base_url, settings) VALUES ('looker-demo', 'looker', 'Looker', $1, $2) RETURNING id, slug`, [
      looker.url,
      // The demo page is a host page on our own origin: Looker posts its events there.
      JSON.stringify({ models: ['thelook'], permissions: ['access_data', 'see_user_dashboards'], allowedOrigins: [base] }),
    ]);
    const box = t.app.get(SecretBox);
    await t.ds.query(`UPDATE targets SET secrets = $2 WHERE id = $1`, [target.id, JSON.stringify({ embedSecret: box.seal(SECRET, targetSecretContext(target.id, 'embedSecret')) })]);
    await grantAccess(t.ds, tenant.id, target.id, { groupMappings: { analysts: ['4'] }, settings: { userAttributes: ['customer_id'] } });
    const session = await t.app.get(SessionsService).create({ id: user.id, tenantId: tenant.id }, { ip: null, userAgent: null });
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 }, ignoreHTTPSErrors: true });
    try {
      await context.addCookies([{ name: 'eidp_session', value: session.token, url: base }]);
      const page = await context.newPage();
      const violations: string[] = [];
      page.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
      });
      await page.goto(`${base}/demo/looker/${target.slug}/7`);
      await page.locator('#status[data-loaded="true"]').waitFor({ timeout: 20_000 });
      expect(await page.locator('#status').textContent()).toBe('Dashboard loaded');
      expect(await page.frameLocator('#dashboard iframe').locator('#who').textContent()).toMatch(/^Ada Lovelace \(external user [A-Za-z0-9_-]{32}\)$/);
      expect(looker.rejections).toEqual([]);
      expect(looker.embeds).toHaveLength(1);
      expect(looker.embeds[0].embedUrl).toBe(`/embed/dashboards/7?embed_domain=${base}&sdk=3`);
      expect(looker.embeds[0].params).toMatchObject({ models: ['thelook'], group_ids: [4], external_group_id: tenant.id, user_attributes: { customer_id: 'acme-42' } });
      const nonce = looker.embeds[0].params.nonce as string;
      expect(Number((await t.ds.query(`SELECT count(*) AS n FROM issued_tokens WHERE jti = $1`, [nonce]))[0].n)).toBe(1);
      expect(violations).toEqual([]);
      fs.mkdirSync(SHOTS, { recursive: true });
      for (const width of [1280, 390]) {
        await page.setViewportSize({ width, height: 720 });
        await page.screenshot({ path: path.join(SHOTS, `looker-demo-${width}.png`) });
      }
    } finally {
      await context.close();
    }
  });
});
