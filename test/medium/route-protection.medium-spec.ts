import { Controller, Get, Module } from '@nestjs/common';
import { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { AppModule } from '../../src/app.module';
import { AdminApi, AuthKind, Public } from '../../src/common/route-protection';
import { configureApp } from '../../src/bootstrap';
import { makeApiKey } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { createDatabase, dropDatabase } from '../setup/test-db';
import { nestRoutes, RouteInfo } from '../support/routes';

/**
 * Deny by default, proven: every route Nest serves is listed with the protection it declares
 * (read exactly as the global AuthGuard reads it), and the test fails when one declares none.
 * The list is discovered, not written down, so it covers routes added later.
 */
const KINDS: readonly AuthKind[] = ['public', 'api-key', 'session'];

interface ExpressLayer {
  route?: { path: string; methods: Record<string, boolean> };
}

/** What Express actually serves: [METHOD, path] of every route layer. */
function expressRoutes(app: NestExpressApplication): { methods: string[]; path: string }[] {
  const stack = (app.getHttpAdapter().getInstance() as { router: { stack: ExpressLayer[] } }).router.stack;
  return stack
    .filter((l) => l.route)
    .map((l) => ({ path: String(l.route!.path), methods: Object.keys(l.route!.methods).map((m) => m.toUpperCase()) }));
}

function table(routes: RouteInfo[]): string {
  const width = Math.max(...routes.map((r) => `${r.method} ${r.path}`.length));
  const scope = (r: RouteInfo) => (r.scope ? (r.scope.kind === 'global' ? 'global-only' : r.scope.operatorOnly ? 'tenant, global key' : 'tenant') : '');
  return routes
    .map((r) => `${`${r.method} ${r.path}`.padEnd(width)}  ->  ${(r.kind ?? 'NONE (denied)').padEnd(7)}  ${scope(r).padEnd(18)}  ${r.handler}`)
    .join('\n');
}

describe('route protection', () => {
  let t: TestApp;
  let routes: RouteInfo[];

  beforeAll(async () => {
    t = await createTestApp();
    routes = nestRoutes(t.app);
    console.log(`${routes.length} routes:\n${table(routes)}`);
  });
  afterAll(async () => {
    await t.close();
  });

  it('finds the routes', () => {
    expect(routes.length).toBeGreaterThan(10);
  });

  it('every route declares public, api-key or session', () => {
    const undeclared = routes.filter((r) => !KINDS.includes(r.kind as AuthKind));
    expect(undeclared.map((r) => `${r.method} ${r.path} (${r.handler})`)).toEqual([]);
  });

  it('has the protection we expect on known routes', () => {
    const kindOf = (method: string, path: string) => routes.find((r) => r.method === method && r.path === path)?.kind;
    expect(kindOf('GET', '/health/live')).toBe('public');
    expect(kindOf('GET', '/health/ready')).toBe('public');
    expect(kindOf('GET', '/')).toBe('public');
    // Public to the guard (a scraper holds no API key); its own METRICS_TOKEN, 404 when unset.
    expect(kindOf('GET', '/metrics')).toBe('public');
    expect(kindOf('POST', '/api/v1/tenants')).toBe('api-key');
    expect(kindOf('POST', '/api/v1/targets')).toBe('api-key');
    expect(kindOf('PUT', '/api/v1/tenants/:tenantId/access/:targetId')).toBe('api-key');
    expect(kindOf('POST', '/api/v1/api-keys')).toBe('api-key');
    expect(kindOf('GET', '/api/v1/audit-events')).toBe('api-key');
    // BI identities (global key only, checked in bi-identities.medium-spec.ts).
    for (const m of ['GET', 'PUT', 'DELETE']) expect(kindOf(m, '/api/v1/bi-identities')).toBe('api-key');
    expect(kindOf('GET', '/api/v1/tenants/:tenantId/email-domains')).toBe('api-key');
    expect(kindOf('PUT', '/api/v1/tenants/:tenantId/email-domains/:domain')).toBe('api-key');
    expect(kindOf('DELETE', '/api/v1/tenants/:tenantId/email-domains/:domain')).toBe('api-key');
    // Host-app hand-off: the admin side is behind keys; the browser side is public, because the
    // signed single-use assertion is the credential (src/handoff).
    expect(kindOf('GET', '/api/v1/tenants/:tenantId/handoff')).toBe('api-key');
    expect(kindOf('PATCH', '/api/v1/tenants/:tenantId/handoff')).toBe('api-key');
    expect(kindOf('POST', '/api/v1/tenants/:tenantId/handoff/secrets')).toBe('api-key');
    expect(kindOf('DELETE', '/api/v1/tenants/:tenantId/handoff/secrets/:secretId')).toBe('api-key');
    expect(kindOf('POST', '/sso/:target')).toBe('public');
    expect(kindOf('GET', '/sso/:target')).toBe('session');
    expect(kindOf('GET', '/login/handoff')).toBe('public');
    expect(kindOf('POST', '/login/handoff')).toBe('public');
  });

  it('puts the whole operator console behind the browser session, except its one script', () => {
    const console_ = routes.filter((r) => r.path === '/console' || r.path.startsWith('/console/'));
    expect(console_.length).toBeGreaterThan(10);
    expect(console_.filter((r) => r.kind !== 'session' && r.path !== '/console/assets/console.js').map((r) => `${r.method} ${r.path}`)).toEqual([]);
    expect(routes.find((r) => r.path === '/console/assets/console.js')?.kind).toBe('public');
  });

  it('puts the whole admin API behind API keys', () => {
    const admin = routes.filter((r) => r.path.startsWith('/api/v1/'));
    expect(admin.length).toBeGreaterThan(0);
    expect(admin.filter((r) => r.kind !== 'api-key').map((r) => `${r.method} ${r.path}`)).toEqual([]);
  });

  it('serves no Express route that bypasses Nest (and so the guard), except the API docs', () => {
    const known = new Set(routes.map((r) => `${r.method} ${r.path}`));
    const outside: string[] = [];
    for (const r of expressRoutes(t.app)) {
      // Nest middleware applied to every route (request logging) is mounted as an all-methods
      // wildcard: `/{*path}`, or `{/*splat}` (nestjs-pino 5: the optional form also matches `/`).
      if (r.methods.length > 20 && /^(\/\{\*\w+\}|\{\/\*\w+\}|\/\*)$/.test(r.path)) continue;
      // Swagger UI and the OpenAPI document: public by design, no data behind them.
      if (r.path === '/api/docs' || r.path.startsWith('/api/docs/') || r.path.startsWith('/api/docs-')) continue;
      for (const m of r.methods) if (!known.has(`${m} ${r.path}`)) outside.push(`${m} ${r.path}`);
    }
    expect(outside).toEqual([]);
    // And the other way round: the discovered table is what Express serves (paths computed right).
    const served = new Set(expressRoutes(t.app).flatMap((r) => r.methods.map((m) => `${m} ${r.path}`)));
    expect([...known].filter((k) => !served.has(k))).toEqual([]);
  });
});

@Controller('test-only')
class UndeclaredController {
  @Get('undeclared')
  undeclared() {
    return { leaked: true };
  }

  /** An admin route that says nothing of who may call it: denied even to the global key. */
  @AdminApi()
  @Get('unscoped')
  unscoped() {
    return { leaked: true };
  }

  @Public()
  @Get('declared')
  declared() {
    return { ok: true };
  }
}

@Module({ controllers: [UndeclaredController] })
class UndeclaredModule {}

describe('the guard itself', () => {
  let app: NestExpressApplication;
  let db: { name: string; url: string };

  beforeAll(async () => {
    db = await createDatabase();
    const saved = { ...process.env };
    process.env.DATABASE_URL = db.url;
    try {
      const moduleRef = await Test.createTestingModule({ imports: [AppModule, UndeclaredModule] }).compile();
      app = moduleRef.createNestApplication<NestExpressApplication>({ bodyParser: false, bufferLogs: true });
      configureApp(app);
      await app.init();
    } finally {
      process.env = saved;
    }
  });
  afterAll(async () => {
    await app?.close();
    await dropDatabase(db.name);
  });

  it('denies a route that declares no protection, while its declared neighbour answers', async () => {
    const res = await request(app.getHttpServer()).get('/test-only/undeclared').expect(403);
    expect(res.body).toMatchObject({ statusCode: 403, error: 'forbidden' });
    expect(res.text).not.toContain('leaked');
    await request(app.getHttpServer()).get('/test-only/declared').expect(200, { ok: true });
  });

  it('denies an admin route that declares neither @GlobalOnly() nor @TenantScoped(), even to the global key', async () => {
    const key = await makeApiKey(app.get(DataSource), null);
    const res = await request(app.getHttpServer()).get('/test-only/unscoped').set('Authorization', `Bearer ${key}`).expect(403);
    expect(res.text).not.toContain('leaked');
  });

  it('and the route table flags it', () => {
    const flagged = nestRoutes(app).filter((r) => r.kind === undefined);
    expect(flagged.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /test-only/undeclared']);
    const unscoped = nestRoutes(app).filter((r) => r.kind === 'api-key' && !r.scope);
    expect(unscoped.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /test-only/unscoped']);
  });
});
