import express from 'express';
import * as fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { Browser, chromium, Request as PwRequest } from 'playwright-core';
import { SessionsService } from '../../src/auth/sessions.service';
import { grantAccess, makeTarget, makeTenant, makeUser } from '../factories';
import { FakeSisense, startFakeSisense } from '../fakes/sisense';
import { createTestApp, TestApp } from '../setup/app';
import { freePort } from '../setup/global-setup';

/**
 * Sisense's Compose SDK in a real browser: the SSO authenticator of @sisense/sdk-rest-client
 * (the code @sisense/sdk-ui runs for `ssoEnabled`), served as its own ESM files with an import
 * map by a host app on another origin — no bundler, no CDN. It asks Sisense's
 * `/api/auth/isauth`, goes to the Remote Login URL (our /sso/<target>) with `return_to` = the
 * host page, we sign the user in and send the JWT to the fake Sisense, which verifies it
 * (independently, with jsonwebtoken) and opens a session; back on the host page the SDK finds it
 * authenticated. Then its redirect cap, when the Sisense cookie never lands.
 */
const CHROMIUM = '/usr/bin/chromium';
const available = fs.existsSync(CHROMIUM);
if (!available && !process.env.CI) console.warn(`sisense-sdk: ${CHROMIUM} not found, skipping (CI fails instead)`);
const describeBrowser = available || process.env.CI ? describe : describe.skip;

const SECRET = 'sisense-sdk-shared-secret-0123456789abcdef';
const PASSWORD = 'correct horse battery staple';
const NODE_MODULES = path.resolve(__dirname, '../../node_modules');

/** The SDK's packages as the browser loads them (each package's own ESM build). */
const VENDOR: Record<string, { dir: string; entry: string }> = {
  '@sisense/sdk-rest-client': { dir: '@sisense/sdk-rest-client/dist', entry: 'index.js' },
  '@sisense/sdk-common': { dir: '@sisense/sdk-common/dist', entry: 'index.js' },
  i18next: { dir: 'i18next/dist/esm', entry: 'i18next.js' },
};

/**
 * A host app embedding Sisense with the Compose SDK: `/app?sisense=<url>` runs the SDK's
 * getAuthenticator({url, ssoEnabled: true}).authenticate() and writes the outcome.
 */
async function startHostApp(): Promise<{ url: string; close(): Promise<void> }> {
  const app = express();
  const imports: Record<string, string> = {};
  for (const [name, v] of Object.entries(VENDOR)) {
    const mount = `/vendor/${name.replace(/[@/]/g, '_')}`;
    app.use(mount, express.static(path.join(NODE_MODULES, v.dir), { fallthrough: false }));
    imports[name] = `${mount}/${v.entry}`;
  }
  app.get('/app', (_req, res) => {
    res.type('html').send(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Host app</title>
<script type="importmap">${JSON.stringify({ imports })}</script>
<script type="module">
  import { getAuthenticator } from '@sisense/sdk-rest-client';
  const status = document.getElementById('status');
  const url = new URLSearchParams(location.search).get('sisense');
  try {
    const auth = getAuthenticator({ url, ssoEnabled: true });
    const ok = await auth.authenticate();
    status.textContent = ok ? 'authenticated' : 'redirecting';
  } catch (e) {
    status.textContent = 'error: ' + (e && e.message);
  }
</script></head>
<body><main><h1>Host app</h1><p id="status">loading</p></main></body></html>`);
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

describeBrowser('Sisense Compose SDK SSO in a real browser', () => {
  let t: TestApp;
  let base: string;
  let browser: Browser;
  let host: { url: string; close(): Promise<void> };
  const fakes: FakeSisense[] = [];

  const count = async (sql: string, params: unknown[]) => Number((await t.ds.query(sql, params))[0].n);

  beforeAll(async () => {
    const port = await freePort();
    t = await createTestApp({ env: { PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}` } });
    base = await t.listen(port);
    host = await startHostApp();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    for (const f of fakes) await f.close();
    await host?.close();
    await t?.close();
  });

  /** A Sisense (fake) whose Remote Login URL is our /sso/<slug>, and the target for it. */
  async function sisense(slug: string, extra: { sessionCookieLost?: boolean } = {}) {
    const fake = await startFakeSisense({ secret: SECRET, remoteLoginUrl: `${base}/sso/${slug}`, corsAllowedOrigins: [host.url], ...extra });
    fakes.push(fake);
    const target = await makeTarget(t, { kind: 'sisense', slug, baseUrl: fake.url, secret: SECRET, settings: { allowedOrigins: [host.url] } });
    return { fake, target };
  }

  it('no Sisense session -> our sign-in -> JWT verified by Sisense -> the SDK ends authenticated', async () => {
    const { fake, target } = await sisense('sis-sdk');
    const tenant = await makeTenant(t.ds, { name: 'Acme' });
    const user = await makeUser(t.ds, tenant.id, { email: 'ada@acme.example', password: PASSWORD, groups: ['analysts'] });
    await grantAccess(t.ds, tenant.id, target.id, { groupMappings: { analysts: ['Analysts'] } });

    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      const toUs: PwRequest[] = [];
      page.on('request', (r) => {
        if (r.url().startsWith(`${base}/sso/`)) toUs.push(r);
      });

      const app = `${host.url}/app?sisense=${encodeURIComponent(fake.url)}&view=sales#top`;
      await page.goto(app);
      // The SDK asked Sisense, found no session and went to the Remote Login URL: our login page.
      await page.waitForURL((u) => u.pathname === '/login', { timeout: 15_000 });
      expect(fake.isauthCalls.filter((c) => c.method === 'GET')[0]).toMatchObject({ origin: host.url, internal: 'true', hadSession: false, tenant: null });

      // What the SDK sent us: return_to = the host page's full href (query and fragment kept),
      // set with URLSearchParams, so encoded once and last.
      expect(toUs).toHaveLength(1);
      const first = new URL(toUs[0].url());
      expect([...first.searchParams.keys()]).toEqual(['return_to']);
      expect(first.searchParams.get('return_to')).toBe(app);
      expect(toUs[0].headers()['referer']).toBe(`${host.url}/`);

      await page.getByLabel('Organization').fill(tenant.slug);
      await page.getByLabel('Email').fill(user.email);
      await page.getByLabel('Password').fill(PASSWORD);
      await Promise.all([page.waitForURL((u) => u.origin === host.url, { timeout: 15_000 }), page.getByRole('button', { name: 'Sign in' }).click()]);
      await page.locator('#status', { hasText: /authenticated|error/ }).waitFor({ timeout: 15_000 });
      expect(await page.locator('#status').textContent()).toBe('authenticated');
      expect(page.url()).toBe(app);

      // Sisense accepted our token (verified by the fake with jsonwebtoken), for the host page.
      expect(fake.rejections).toEqual([]);
      expect(fake.logins).toHaveLength(1);
      expect(fake.logins[0]).toMatchObject({ email: user.email, returnTo: app, claims: { sub: user.email, groups: ['Analysts'] } });
      const calls = fake.isauthCalls.filter((c) => c.method === 'GET');
      expect(calls.at(-1)).toMatchObject({ hadSession: true, internal: 'true', origin: host.url });
      // Recorded before it left, once.
      expect(await count(`SELECT count(*) AS n FROM issued_tokens WHERE target_id = $1`, [target.id])).toBe(1);
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('the SDK stops after its redirect cap when the Sisense cookie never lands; each attempt we signed was recorded', async () => {
    const { fake, target } = await sisense('sis-sdk-cap', { sessionCookieLost: true });
    const tenant = await makeTenant(t.ds, { name: 'Globex' });
    const user = await makeUser(t.ds, tenant.id, { email: 'hank@globex.example' });
    await grantAccess(t.ds, tenant.id, target.id);
    const session = await t.app.get(SessionsService).create({ id: user.id, tenantId: tenant.id }, { ip: null, userAgent: null });

    const context = await browser.newContext();
    try {
      await context.addCookies([{ name: 'eidp_session', value: session.token, url: base }]);
      const page = await context.newPage();
      await page.goto(`${host.url}/app?sisense=${encodeURIComponent(fake.url)}`);
      await page.locator('#status', { hasText: /^error/ }).waitFor({ timeout: 20_000 });
      // The SDK's message for errors.authRedirectLimitExceeded.
      expect(await page.locator('#status').textContent()).toMatch(/^error: .*redirect/i);
      // Three round trips (the SDK's default cap), each a token Sisense accepted, each recorded.
      expect(fake.logins).toHaveLength(3);
      expect(new Set(fake.logins.map((l) => l.jti)).size).toBe(3);
      const iats = fake.logins.map((l) => l.iat);
      expect(iats[1]).toBeGreaterThan(iats[0]);
      expect(iats[2]).toBeGreaterThan(iats[1]);
      expect(await count(`SELECT count(*) AS n FROM issued_tokens WHERE target_id = $1`, [target.id])).toBe(3);
    } finally {
      await context.close();
    }
  });
});
