import { Controller, Get, Module } from '@nestjs/common';
import { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { createHash } from 'node:crypto';
import type { Server } from 'node:http';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { AppModule } from '../../src/app.module';
import { Public } from '../../src/common/route-protection';
import { configureApp } from '../../src/bootstrap';
import { grantAccess, makeTarget, makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { createDatabase, dropDatabase } from '../setup/test-db';
import { CookieJar, signIn } from '../support/cookie-jar';

/**
 * every HTML response — pages and error pages alike — carries the security
 * headers, set in one place (src/common/security-headers.ts, registered by configureApp,
 * which main.ts and these tests share). Table-driven: one row per kind of HTML response.
 */
@Controller('test-only')
class BoomController {
  @Public()
  @Get('boom')
  boom(): never {
    throw new Error('an unexpected failure deep inside');
  }
}

@Module({ controllers: [BoomController] })
class BoomModule {}

const PASSWORD = 'correct horse battery staple';
const sha = (css: string) => `'sha256-${createHash('sha256').update(css, 'utf8').digest('base64')}'`;

function directives(csp: string): Map<string, string[]> {
  return new Map(
    csp.split(';').map((d) => d.trim()).filter(Boolean).map((d) => {
      const [name, ...values] = d.split(/\s+/);
      return [name, values] as [string, string[]];
    }),
  );
}

describe('security headers on every HTML response', () => {
  let app: NestExpressApplication;
  let http: Server;
  let ds: DataSource;
  let db: { name: string; url: string };
  let tenantSlug: string;
  let targetSlug: string;

  beforeAll(async () => {
    db = await createDatabase();
    const saved = { ...process.env };
    process.env.DATABASE_URL = db.url;
    try {
      const moduleRef = await Test.createTestingModule({ imports: [AppModule, BoomModule] }).compile();
      app = moduleRef.createNestApplication<NestExpressApplication>({ bodyParser: false, bufferLogs: true });
      configureApp(app);
      await app.init();
    } finally {
      process.env = saved;
    }
    http = app.getHttpServer();
    ds = app.get(DataSource);
    const tenant = await makeTenant(ds, { name: 'Acme Corp' });
    await ds.query(
      `UPDATE tenants SET brand_logo_url = 'https://cdn.acme.example/logo.svg', brand_accent_color = '#ffd500' WHERE id = $1`,
      [tenant.id],
    );
    tenantSlug = tenant.slug;
    const target = await makeTarget({ app, ds } as unknown as TestApp, { kind: 'metabase', baseUrl: 'https://metabase.example.test', secret: 's'.repeat(40) });
    await grantAccess(ds, tenant.id, target.id);
    targetSlug = target.slug;
  });
  afterAll(async () => {
    await app?.close();
    await dropDatabase(db.name);
  });

  async function signedIn(): Promise<CookieJar> {
    const tenant = await makeTenant(ds);
    const user = await makeUser(ds, tenant.id, { password: PASSWORD });
    const j = new CookieJar();
    expect((await signIn(request(http), j, { tenant: tenant.slug, email: user.email, password: PASSWORD })).status).toBe(303);
    return j;
  }

  type Surface = 'flow' | 'other';
  const ROWS: [string, number, Surface, () => Promise<request.Response>][] = [
    ['landing page', 200, 'other', () => request(http).get('/')],
    ['login page', 200, 'flow', () => request(http).get('/login')],
    ['login page, branded', 200, 'flow', () => request(http).get(`/login?tenant=${tenantSlug}`)],
    ['login form again (rejected post)', 400, 'flow', () => request(http).post('/login').type('form').send({ tenant: 'x', email: 'y', password: 'z' })],
    ['signed-in page', 200, 'flow', async () => (await signedIn()).on(request(http).get('/account'))],
    ['signed-out page', 200, 'flow', async () => (await signedIn()).on(request(http).get('/logout'))],
    ['error 404, unknown path', 404, 'other', () => request(http).get('/no/such/page').set('Accept', 'text/html')],
    ['error 404, unknown BI target', 404, 'flow', () => request(http).get('/sso/no-such-target').set('Accept', 'text/html')],
    ['error 400, return_to off the BI site', 400, 'flow', () =>
      request(http).get(`/sso/${targetSlug}?tenant=${tenantSlug}&return_to=https://evil.example/`).set('Accept', 'text/html')],
    ['error 413, body too large (before routing)', 413, 'flow', () =>
      request(http).post('/logout').set('Accept', 'text/html').type('form').send({ return_to: 'x'.repeat(30_000) })],
    ['error 500, unexpected failure', 500, 'other', () => request(http).get('/test-only/boom').set('Accept', 'text/html')],
  ];

  it.each(ROWS)('%s: %i with the headers', async (_name, status, surface, send) => {
    const res = await send();
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(/^text\/html/);

    const csp = directives(res.headers['content-security-policy'] ?? '');
    expect(csp.get('default-src')).toEqual(["'none'"]);
    expect(csp.get('base-uri')).toEqual(["'none'"]);
    // No script at all, and no inline style but what the policy lists by hash.
    expect(csp.has('script-src')).toBe(false);
    expect(res.headers['content-security-policy']).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    expect(res.text).not.toMatch(/<script|\sstyle=|\son[a-z]+=/i);
    const inline = [...res.text.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => sha(m[1]));
    expect(inline.length).toBeGreaterThan(0);
    expect(csp.get('style-src')?.sort()).toEqual(inline.sort());

    if (surface === 'flow') {
      // BI tools frame the flow on customer origins: no X-Frame-Options, no frame-ancestors.
      expect(res.headers['x-frame-options']).toBeUndefined();
      expect(csp.has('frame-ancestors')).toBe(false);
    } else {
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
    }
    expect(res.headers).toMatchObject({
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-resource-policy': 'same-origin',
      'origin-agent-cluster': '?1',
      'x-permitted-cross-domain-policies': 'none',
      'x-dns-prefetch-control': 'off',
      'cache-control': 'no-store',
    });
    expect(res.headers['x-powered-by']).toBeUndefined();
    // Plain http here: HSTS would mean nothing (RFC 6797 §7.2), see the https app below.
    expect(res.headers['strict-transport-security']).toBeUndefined();
    expect(res.headers['x-request-id']).toBeTruthy();
    expect(res.text).not.toContain('deep inside');
  });

  it('JSON answers (the API, health) carry them too, never framed', async () => {
    for (const res of [await request(http).get('/api/v1/tenants').expect(401), await request(http).get('/health/live').expect(200)]) {
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['content-security-policy']).toContain("default-src 'none'");
      expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    }
  });

  it('the API docs get a policy Swagger UI works under (its own scripts, no one else\'s), never framed', async () => {
    const res = await request(http).get('/api/docs').redirects(1).expect(200);
    const csp = directives(res.headers['content-security-policy']);
    expect(csp.get('script-src')).toEqual(["'self'"]);
    expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
    expect(res.headers['x-frame-options']).toBe('DENY');
  });
});

describe('security headers when served over https', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { PUBLIC_URL: 'https://idp.example.test' } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('add HSTS and upgrade-insecure-requests', async () => {
    for (const path of ['/', '/login']) {
      const res = await request(t.http).get(path).expect(200);
      expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
      expect(res.headers['content-security-policy']).toContain('upgrade-insecure-requests');
    }
  });
});
