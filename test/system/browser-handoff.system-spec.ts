import express from 'express';
import * as fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { Browser, chromium } from 'playwright-core';
import request from 'supertest';
import { grantAccess, makeApiKey, makeTarget, makeTenant, makeUser } from '../factories';
import { FakeMetabase, startFakeMetabase } from '../fakes/metabase';
import { createTestApp, TestApp } from '../setup/app';
import { freePort } from '../setup/global-setup';
import { signAssertion } from '../support/handoff';

/**
 * A real browser (Debian's chromium via playwright-core) on a host app's page, on another
 * site (localhost vs 127.0.0.1), that auto-submits the hand-off form: it must land on the
 * (fake) Metabase signed in, without seeing a login page.
 */
const CHROMIUM = '/usr/bin/chromium';
const available = fs.existsSync(CHROMIUM);
if (!available && !process.env.CI) console.warn(`browser-handoff: ${CHROMIUM} not found, skipping the real-browser test`);
const describeBrowser = available || process.env.CI ? describe : describe.skip;
const SHOTS = path.resolve(__dirname, '..', '..', 'test-output', 'screenshots');
const MB_SECRET = 'browser-handoff-metabase-secret-0123456789';
const SECRET = 'browser-handoff-host-secret-0123456789abcd';

describeBrowser('host-app hand-off in a real browser', () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let mb: FakeMetabase;
  let host: Server;
  let hostUrl: string;
  let nextAssertion: () => string;

  beforeAll(async () => {
    const port = await freePort();
    t = await createTestApp({ env: { PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` } });
    base = await t.listen(port);
    mb = await startFakeMetabase({ jwtSecret: MB_SECRET, idpUri: `${base}/sso/mb-browser` });
    const target = await makeTarget(t, { kind: 'metabase', slug: 'mb-browser', baseUrl: mb.url, secret: MB_SECRET });
    const tenant = await makeTenant(t.ds, { name: 'Initech' });
    await grantAccess(t.ds, tenant.id, target.id);
    await makeUser(t.ds, tenant.id, { email: 'peter@initech.example', firstName: 'Peter', lastName: 'Gibbons' });
    const key = await makeApiKey(t.ds);
    await request(t.http).post(`/api/v1/tenants/${tenant.id}/handoff/secrets`).set('Authorization', `Bearer ${key}`).send({ secret: SECRET }).expect(201);
    nextAssertion = () => signAssertion(SECRET, tenant.slug, { email: 'peter@initech.example' });

    // The host app: its "Open analytics" page posts a fresh assertion to us, by itself.
    let last = '';
    const app = express();
    app.get('/analytics', (_req, res) => {
      last = nextAssertion();
      res.type('html').send(`<!doctype html><html><head><title>Host app</title></head><body>
<form method="post" action="${base}/sso/mb-browser">
  <input type="hidden" name="assertion" value="${last}">
  <input type="hidden" name="return_to" value="/dashboard/42">
  <noscript><button>Open analytics</button></noscript>
</form>
<script>document.forms[0].submit()</script></body></html>`);
    });
    app.get('/replay', (_req, res) => {
      res.type('html').send(`<!doctype html><html><body><form method="post" action="${base}/sso/mb-browser">
<input type="hidden" name="assertion" value="${last}"><input type="hidden" name="return_to" value="/dashboard/42"></form>
<script>document.forms[0].submit()</script></body></html>`);
    });
    host = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    // localhost: another site than 127.0.0.1, as a host app's domain is.
    hostUrl = `http://localhost:${(host.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => host?.close(r));
    await mb?.close();
    await t?.close();
  });

  it('the host page auto-submits the assertion and the user lands on Metabase signed in; the same assertion again is refused', async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const seen: string[] = [];
      page.on('request', (r) => {
        if (r.isNavigationRequest()) seen.push(new URL(r.url()).pathname);
      });
      await page.goto(`${hostUrl}/analytics`);
      await page.waitForURL(`${mb.url}/dashboard/42`);
      expect(JSON.parse((await page.locator('body').textContent()) ?? '{}')).toEqual({ page: '/dashboard/42' });
      await page.screenshot({ path: path.join(SHOTS, 'handoff-landed-on-metabase.png') });
      expect(seen).toEqual(['/analytics', '/sso/mb-browser', '/auth/sso', '/dashboard/42']);
      expect(mb.logins.map((l) => l.email)).toEqual(['peter@initech.example']);
      // Signed in with us too: our session cookie came with the hand-off.
      expect((await context.cookies(base)).find((c) => c.name === 'eidp_session')).toMatchObject({ httpOnly: true });

      // The host page submitting the very same assertion again: our 401 page, no second login.
      const again = await context.newPage();
      const response = await Promise.all([again.waitForResponse((r) => r.request().method() === 'POST'), again.goto(`${hostUrl}/replay`)]).then(([r]) => r);
      await again.waitForLoadState('domcontentloaded');
      expect(response.status()).toBe(401);
      expect(await again.locator('h1').textContent()).toBe('This link was already used');
      await again.screenshot({ path: path.join(SHOTS, 'handoff-replay-refused.png') });
      expect(mb.logins).toHaveLength(1);
    } finally {
      await context.close();
    }
  }, 120_000);
});
