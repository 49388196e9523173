import { Body, Controller, Delete, HttpCode, Module, Param, Patch, Post, RequestMethod } from '@nestjs/common';
import { HTTP_CODE_METADATA, METHOD_METADATA, REDIRECT_METADATA, RESPONSE_PASSTHROUGH_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { DiscoveryService, ModulesContainer } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import { IsString } from 'class-validator';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { getMetadataStorage } from 'class-validator';
import { ScopedTenantId } from '../../src/auth/auth.decorators';
import { AppModule } from '../../src/app.module';
import { operatorOnlyFields, Public, SESSION_COOKIE, TenantScoped } from '../../src/common/route-protection';
import { configureApp } from '../../src/bootstrap';
import { buildOpenApiDocument, RESPONDS, UNDOCUMENTED } from '../../src/common/openapi';
import { makeApiKey, makeTarget, makeTenant } from '../factories';
import { signAssertion } from '../support/handoff';
import { createTestApp, TestApp } from '../setup/app';
import { createDatabase, dropDatabase } from '../setup/test-db';
import { nestRoutes, pathParams, RouteInfo } from '../support/routes';

/**
 * The OpenAPI document served at /api/docs-json, checked against the routes the app really
 * serves (discovered from Nest's metadata, so routes added later are covered) and against
 * real answers. Each failure says what to add to the route. The rules are written here
 * independently of src/common/openapi.ts, which generates most of it from the same metadata.
 */

type Json = Record<string, any>;
interface Op {
  route: RouteInfo;
  cls: Function;
  fn: Function;
  op: Json | undefined;
  docPath: string;
}

const ERROR_REF = '#/components/schemas/ErrorResponse';
const ALLOWED_ERRORS = [400, 401, 403, 404, 409, 413, 415, 429, 502, 503];
const STRING_VALIDATORS = new Set(['isString', 'isUrl', 'isEmail', 'isUuid', 'matches', 'maxLength', 'minLength', 'isDateString', 'isISO8601']);

// Express 5 wildcards (`*path`) are named parameters too; Swagger writes both as {name}.
const toDocPath = (p: string) => p.replace(/[:*](\w+)/g, '{$1}');
const args = (cls: Function, method: string) =>
  Object.entries((Reflect.getMetadata(ROUTE_ARGS_METADATA, cls, method) ?? {}) as Record<string, { index: number; data?: any }>).map(
    ([key, a]) => ({ type: key.split(':')[0], index: a.index, data: a.data }),
  );
const has = (a: ReturnType<typeof args>, t: RouteParamtypes) => a.some((x) => x.type === String(t));
/** `@Res()` without passthrough: the handler writes the answer, Nest cannot see its status. */
const ownsResponse = (o: Op) =>
  has(args(o.cls, methodName(o.route)), RouteParamtypes.RESPONSE) && !Reflect.getMetadata(RESPONSE_PASSTHROUGH_METADATA, o.cls, methodName(o.route));
/** Nest's own rule for a handler that returns normally. */
function nestStatus(fn: Function): number {
  const redirect = Reflect.getMetadata(REDIRECT_METADATA, fn);
  if (redirect) return redirect.statusCode ?? 302;
  return Reflect.getMetadata(HTTP_CODE_METADATA, fn) ?? (Reflect.getMetadata(METHOD_METADATA, fn) === RequestMethod.POST ? 201 : 200);
}
const methodName = (r: RouteInfo) => r.handler.split('.')[1];
const label = (o: Op) => `${o.route.method} ${o.route.path} (${o.route.handler})`;
const statuses = (op: Json, pred: (s: number) => boolean) => Object.keys(op.responses ?? {}).map(Number).filter(pred).sort();

/** A small closed-schema check (OpenAPI 3.0 subset): every key known, required present, types right. */
function schemaProblems(doc: Json, schema: Json, value: unknown, at = 'body'): string[] {
  if (schema.$ref) return schemaProblems(doc, doc.components.schemas[schema.$ref.split('/').pop()], value, at);
  if (value === null) return schema.nullable ? [] : [`${at} is null`];
  const type = schema.type;
  if (type === 'integer' && !Number.isInteger(value)) return [`${at} is not an integer: ${JSON.stringify(value)}`];
  if (type === 'string' && typeof value !== 'string') return [`${at} is not a string: ${JSON.stringify(value)}`];
  if (type === 'object') {
    if (typeof value !== 'object' || Array.isArray(value)) return [`${at} is not an object`];
    const props = schema.properties as Json | undefined;
    if (!props) return [];
    const out = (schema.required ?? []).filter((k: string) => !(k in (value as Json))).map((k: string) => `${at}.${k} is missing`);
    for (const [k, v] of Object.entries(value as Json)) {
      if (!props[k]) out.push(`${at}.${k} is not in the schema`);
      else out.push(...schemaProblems(doc, props[k], v, `${at}.${k}`));
    }
    return out;
  }
  return [];
}

describe('OpenAPI document (/api/docs)', () => {
  let t: TestApp;
  let doc: Json;
  let ops: Op[];
  let globalKey: string;
  let scopedKey: string;

  beforeAll(async () => {
    t = await createTestApp();
    doc = (await request(t.http).get('/api/docs-json').expect(200)).body;
    globalKey = await makeApiKey(t.ds, null);
    scopedKey = await makeApiKey(t.ds, (await makeTenant(t.ds)).id);
    const classes = new Map<string, Function>();
    for (const w of new DiscoveryService(t.app.get(ModulesContainer)).getControllers()) if (w.metatype) classes.set(w.metatype.name, w.metatype as Function);
    ops = nestRoutes(t.app).map((route) => {
      const cls = classes.get(route.handler.split('.')[0])!;
      const fn = cls.prototype[methodName(route)] as Function;
      const docPath = toDocPath(route.path);
      return { route, cls, fn, docPath, op: doc.paths?.[docPath]?.[route.method.toLowerCase()] };
    });
    const width = Math.max(...ops.map((o) => `${o.route.method} ${o.route.path}`.length));
    console.log(
      ops
        .map((o) => `${`${o.route.method} ${o.route.path}`.padEnd(width)}  ${o.op ? Object.keys(o.op.responses).join(' ') : `undocumented: ${reasonOf(o)}`}`)
        .join('\n'),
    );
  });
  afterAll(async () => {
    await t.close();
  });

  const reasonOf = (o: Op): string | undefined => Reflect.getMetadata(UNDOCUMENTED, o.fn) ?? Reflect.getMetadata(UNDOCUMENTED, o.cls);
  const documented = () => ops.filter((o) => o.op);

  it('lists the admin API before the browser routes (paths and tags, the order Swagger UI shows)', () => {
    const paths = Object.keys(doc.paths);
    const firstOther = paths.findIndex((p) => !p.startsWith('/api/v1/'));
    expect(firstOther).toBeGreaterThan(0);
    expect(paths.slice(firstOther).filter((p) => p.startsWith('/api/v1/'))).toEqual([]);
    const tags = (doc.tags as { name: string }[]).map((x) => x.name);
    expect(tags.indexOf('tenants')).toBeGreaterThanOrEqual(0);
    expect(tags.indexOf('sso')).toBeGreaterThan(tags.indexOf('tenants'));
    expect(tags.indexOf('sso')).toBeGreaterThan(tags.indexOf('api-keys'));
  });

  it('documents every route the app serves, or says why not', () => {
    expect(ops.length).toBeGreaterThan(30);
    const problems = ops
      .filter((o) => !o.op && !reasonOf(o))
      .map((o) => `${label(o)} is not in /api/docs: document it, or mark the handler or its controller @Undocumented('why') (src/common/openapi.ts)`);
    const served = new Set(ops.map((o) => `${o.route.method.toLowerCase()} ${o.docPath}`));
    for (const [path, item] of Object.entries(doc.paths as Json)) {
      for (const m of Object.keys(item)) if (!served.has(`${m} ${path}`)) problems.push(`${m.toUpperCase()} ${path} is documented but not served`);
    }
    expect(problems).toEqual([]);
  });

  it("documents each route's path and query parameters as its handler takes them", () => {
    const problems: string[] = [];
    for (const o of documented()) {
      const params = (o.op!.parameters ?? []) as Json[];
      const inPath = params.filter((p) => p.in === 'path');
      const want = pathParams(o.route.path).sort();
      const got = inPath.map((p) => p.name).sort();
      if (JSON.stringify(got) !== JSON.stringify(want)) problems.push(`${label(o)}: path parameters documented ${JSON.stringify(got)}, the path has ${JSON.stringify(want)}`);
      for (const p of inPath) if (p.required !== true) problems.push(`${label(o)}: path parameter ${p.name} must be required`);

      const a = args(o.cls, methodName(o.route));
      const types = (Reflect.getMetadata('design:paramtypes', o.cls.prototype, methodName(o.route)) ?? []) as Function[];
      const bound = new Set<string>();
      for (const q of a.filter((x) => x.type === String(RouteParamtypes.QUERY))) {
        if (typeof q.data === 'string') bound.add(q.data);
        else for (const m of getMetadataStorage().getTargetValidationMetadatas(types[q.index], '', true, false)) bound.add(m.propertyName);
      }
      const query = params.filter((p) => p.in === 'query').map((p) => p.name as string);
      const missing = [...bound].filter((n) => !query.includes(n));
      if (missing.length) problems.push(`${label(o)}: query parameters ${JSON.stringify(missing)} are taken but not documented (@ApiProperty on its query DTO, or @ApiQuery)`);
      // A handler with the raw request may read more of the query (documented with @ApiQuery).
      const extra = query.filter((n) => !bound.has(n));
      if (extra.length && !has(a, RouteParamtypes.REQUEST)) problems.push(`${label(o)}: query parameters ${JSON.stringify(extra)} are documented but the handler takes none of them`);
    }
    expect(problems).toEqual([]);
  });

  it("documents each route's success status as the handler really answers (@HttpCode, @Redirect, @Responds)", () => {
    const problems: string[] = [];
    for (const o of documented()) {
      const a = args(o.cls, methodName(o.route));
      const success = statuses(o.op!, (s) => s >= 200 && s < 400);
      if (ownsResponse(o)) {
        const declared = (Reflect.getMetadata(RESPONDS, o.fn) as number[] | undefined)?.slice().sort();
        if (!declared) problems.push(`${label(o)} writes its own response (@Res()): declare what it answers with @Responds({ 302: '…' }) (src/common/openapi.ts)`);
        else if (JSON.stringify(success) !== JSON.stringify(declared)) problems.push(`${label(o)}: documents ${success} but @Responds declares ${declared}`);
        continue;
      }
      const status = nestStatus(o.fn);
      if (!success.includes(status)) problems.push(`${label(o)}: answers ${status} (Nest: @HttpCode/@Redirect/method) but documents ${JSON.stringify(success)}`);
      // Another success status is possible only when the handler sets it (@Res({ passthrough: true })).
      const others = success.filter((s) => s !== status);
      if (others.length && !has(a, RouteParamtypes.RESPONSE)) problems.push(`${label(o)}: documents ${others} but can only answer ${status}`);
    }
    expect(problems).toEqual([]);
  });

  it('documents the errors each route can give, all with the one ErrorResponse schema', () => {
    const problems: string[] = [];
    for (const o of documented()) {
      const a = args(o.cls, methodName(o.route));
      const want: number[] = [];
      if ([RouteParamtypes.BODY, RouteParamtypes.QUERY, RouteParamtypes.PARAM].some((k) => has(a, k))) want.push(400); // pipes validate input
      if (o.route.kind === 'api-key') want.push(401); // AuthGuard: no key, unknown, revoked, disabled tenant
      // authorizeAdmin / assertNoOperatorFields: what a tenant-scoped key may not do.
      const body = a.find((x) => x.type === String(RouteParamtypes.BODY) && x.data === undefined);
      const bodyType = body && (Reflect.getMetadata('design:paramtypes', o.cls.prototype, methodName(o.route)) ?? [])[body.index];
      if (o.route.kind === 'api-key' && (!o.route.scope || o.route.scope.operatorOnly || operatorOnlyFields(bodyType).length)) want.push(403);
      if (pathParams(o.route.path).length) want.push(404); // the path names something
      const errors = statuses(o.op!, (s) => s >= 400);
      const missing = want.filter((s) => !errors.includes(s));
      if (missing.length) problems.push(`${label(o)}: can answer ${missing} but does not document it (src/common/openapi.ts standardErrors)`);
      const odd = errors.filter((s) => !ALLOWED_ERRORS.includes(s));
      if (odd.length) problems.push(`${label(o)}: documents ${odd}, which the app does not answer`);
      for (const s of errors) {
        const schema = o.op!.responses[s].content?.['application/json']?.schema;
        if (schema?.$ref !== ERROR_REF) problems.push(`${label(o)}: ${s} must have the ErrorResponse body, has ${JSON.stringify(schema)}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('defines every security scheme it uses: a plain bearer for API keys, the session cookie for browser routes', () => {
    const schemes = doc.components.securitySchemes as Json;
    const bearer = Object.entries(schemes).filter(([, s]) => s.type === 'http' && s.scheme === 'bearer');
    const cookie = Object.entries(schemes).filter(([, s]) => s.type === 'apiKey' && s.in === 'cookie' && s.name === SESSION_COOKIE);
    expect(bearer).toHaveLength(1);
    expect(cookie).toHaveLength(1);
    // API keys are opaque random strings, not JWTs.
    expect(JSON.stringify(schemes)).not.toContain('bearerFormat');
    const problems: string[] = [];
    for (const o of documented()) {
      const security = (o.op!.security ?? []) as Json[];
      for (const req of security) for (const name of Object.keys(req)) if (!schemes[name]) problems.push(`${label(o)}: security scheme "${name}" is not defined`);
      const names = security.flatMap((r) => Object.keys(r));
      if (o.route.kind === 'api-key' && JSON.stringify(security) !== JSON.stringify([{ [bearer[0][0]]: [] }])) problems.push(`${label(o)}: an API-key route must require exactly ${bearer[0][0]}, has ${JSON.stringify(security)}`);
      if (o.route.kind === 'session' && !names.includes(cookie[0][0])) problems.push(`${label(o)}: a session route must name the ${cookie[0][0]} cookie scheme`);
      if (o.route.kind === 'public' && names.length) problems.push(`${label(o)}: a public route must require nothing, has ${JSON.stringify(security)}`);
    }
    expect(problems).toEqual([]);
  });

  it('types no string field as a shapeless object', () => {
    const problems: string[] = [];
    const walk = (s: Json | undefined, at: string) => {
      if (!s || typeof s !== 'object') return;
      if (s.type === 'object' && !s.properties && s.additionalProperties === undefined && !s.$ref) {
        problems.push(`${at} is typed "object" with no shape (a \`string | null\` property? give @ApiProperty({ type: String, nullable: true }))`);
      }
      for (const [k, v] of Object.entries(s.properties ?? {})) walk(v as Json, `${at}.${k}`);
      if (s.items) walk(s.items, `${at}[]`);
    };
    for (const [name, s] of Object.entries(doc.components.schemas as Json)) walk(s, name);
    for (const o of documented()) {
      for (const p of o.op!.parameters ?? []) {
        if (!p.schema?.type && !p.schema?.$ref) problems.push(`${label(o)} ${p.in} parameter ${p.name} has no type (give @ApiQuery/@ApiParam a type)`);
        walk(p.schema, `${label(o)} ${p.in} ${p.name}`);
      }
    }

    // And the other way: a request field validated as a string is documented as one.
    for (const o of ops) {
      const types = (Reflect.getMetadata('design:paramtypes', o.cls.prototype, methodName(o.route)) ?? []) as Function[];
      for (const a of args(o.cls, methodName(o.route))) {
        if (![String(RouteParamtypes.BODY), String(RouteParamtypes.QUERY)].includes(a.type) || a.data !== undefined) continue;
        const dto = types[a.index];
        const schema = doc.components.schemas[dto?.name];
        if (!schema) continue;
        for (const m of getMetadataStorage().getTargetValidationMetadatas(dto, '', true, false)) {
          const prop = schema.properties?.[m.propertyName];
          if (m.name && !m.each && STRING_VALIDATORS.has(m.name) && prop && prop.type !== 'string' && !prop.enum && !prop.oneOf && !prop.$ref) {
            problems.push(`${dto.name}.${m.propertyName} is validated as a string (${m.name}) but documented as ${prop.type}`);
          }
        }
      }
    }
    expect([...new Set(problems)]).toEqual([]);
  });

  describe('against real answers', () => {
    /**
     * Every documented route, unauthenticated and (admin routes) with a global and a
     * tenant-scoped key, naming ids that do not exist, with an empty body.
     */
    const probes = () =>
      documented().flatMap((o) =>
        (o.route.kind === 'api-key' ? [undefined, 'global', 'scoped'] : [undefined]).map((auth) => ({ o, auth })),
      );

    it('every answer is documented, and every error body is an ErrorResponse', async () => {
      const problems: string[] = [];
      const seen = new Set<number>();
      for (const { o, auth } of probes()) {
        const path = o.route.path.replace(/:(\w+)/g, () => randomUUID());
        let req = request(t.http)[o.route.method.toLowerCase() as 'get'](path);
        if (auth) req = req.set('Authorization', `Bearer ${auth === 'global' ? globalKey : scopedKey}`);
        if (['POST', 'PUT', 'PATCH'].includes(o.route.method)) req = req.send({});
        const res = await req;
        const desc = `${o.route.method} ${path}${auth ? ` (${auth} key)` : ''} answered ${res.status}`;
        if (res.status >= 500 && !(o.route.path === '/health/ready' && res.status === 503)) problems.push(`${desc}: a server error (${res.text.slice(0, 200)})`);
        if (!o.op!.responses[res.status]) problems.push(`${desc}, which ${label(o)} does not document`);
        if (res.status >= 400) {
          seen.add(res.status);
          for (const p of schemaProblems(doc, { $ref: ERROR_REF }, res.body)) problems.push(`${desc}: ErrorResponse mismatch: ${p}`);
        }
      }
      expect(problems).toEqual([]);
      // The probes reached the errors that matter (so this test cannot pass on nothing).
      expect([...seen].sort()).toEqual(expect.arrayContaining([400, 401, 403, 404]));
    });

    it('a conflict answers the documented 409', async () => {
      const slug = `t-${randomUUID().slice(0, 8)}`;
      const post = () => request(t.http).post('/api/v1/tenants').set('Authorization', `Bearer ${globalKey}`).send({ slug, name: 'Acme' });
      await post().expect(201);
      const res = await post().expect(409);
      expect(schemaProblems(doc, { $ref: ERROR_REF }, res.body)).toEqual([]);
      expect(doc.paths['/api/v1/tenants'].post.responses['409'].content['application/json'].schema.$ref).toBe(ERROR_REF);
    });

    it('a validation error carries its problems in details, as the schema says', async () => {
      const res = await request(t.http).post('/api/v1/tenants').set('Authorization', `Bearer ${globalKey}`).send({ slug: 'Not A Slug' }).expect(400);
      expect(res.body).toMatchObject({ statusCode: 400, error: 'validation_failed', details: { problems: expect.any(Array) } });
      expect(typeof res.body.requestId).toBe('string');
      expect(schemaProblems(doc, { $ref: ERROR_REF }, res.body)).toEqual([]);
      // The schema is closed: a body with an unknown field would be reported.
      expect(schemaProblems(doc, { $ref: ERROR_REF }, { ...res.body, extra: 1 })).toEqual(['body.extra is not in the schema']);
    });

    it('GET /sso/{target} is documented as what it does: 302 (and 401 JSON for the SDK), with its query parameters', async () => {
      const target = await makeTarget(t, { kind: 'metabase', baseUrl: 'https://mb.example', secret: 'x'.repeat(64) });
      const op = doc.paths['/sso/{target}'].get;
      const res = await request(t.http).get(`/sso/${target.slug}?return_to=/dashboard/1`).expect(302);
      expect(res.headers.location).toContain('/login?');
      expect(op.responses['302'].headers.Location).toBeDefined();
      await request(t.http).get(`/sso/${target.slug}?response=json`).expect(401);
      expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '302', '401', '404']));
      expect(op.responses['200']).toBeDefined();
      // `assertion`: a host app's hand-off (src/inbound), read by parseSsoQuery like the rest.
      expect(op.parameters.map((p: Json) => `${p.in} ${p.name}`).sort()).toEqual(['path target', 'query assertion', 'query response', 'query return_to', 'query tenant']);
    });

    it('POST /sso/{target} (the hand-off form) is documented with its form fields, 302 and 200', async () => {
      const op = doc.paths['/sso/{target}'].post;
      expect(Object.keys(op.requestBody.content)).toEqual(['application/x-www-form-urlencoded']);
      const schema = op.requestBody.content['application/x-www-form-urlencoded'].schema;
      expect(schema.required).toEqual(['assertion']);
      expect(Object.keys(schema.properties).sort()).toEqual(['assertion', 'response', 'return_to']);
      expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['200', '302', '401', '404']));
      expect(op.security ?? []).toEqual([]);
      // An assertion no tenant signed: the documented 401 with the ErrorResponse body.
      const res = await request(t.http).post('/sso/anything').type('form').send({ assertion: signAssertion('x'.repeat(40), 'no-such-tenant', { email: 'a@b.example' }) });
      expect({ status: res.status, error: res.body.error }).toEqual({ status: 401, error: 'bad_signature' });
      expect(op.responses['401'].content['application/json'].schema.$ref).toBe(ERROR_REF);
    });
  });
});

class ThingDto {
  @IsString()
  name: string;
}

/** Routes as another module would add them: protection declared, not one OpenAPI annotation. */
@TenantScoped()
@Controller('api/v1/tenants/:tenantId/things')
class ThingsController {
  @Post(':thingId')
  create(@ScopedTenantId() _tenantId: string, @Param('thingId') _id: string, @Body() _body: ThingDto) {
    return {};
  }

  @Patch(':thingId')
  @TenantScoped({ operatorOnly: true })
  update(@ScopedTenantId() _tenantId: string, @Param('thingId') _id: string) {
    return {};
  }

  @Public()
  @Delete()
  @HttpCode(204)
  remove() {}
}

@Module({ controllers: [ThingsController] })
class ThingsModule {}

describe('a new route with no OpenAPI annotation', () => {
  let app: NestExpressApplication;
  let db: { name: string; url: string };

  beforeAll(async () => {
    db = await createDatabase();
    const saved = { ...process.env };
    process.env.DATABASE_URL = db.url;
    try {
      const moduleRef = await Test.createTestingModule({ imports: [AppModule, ThingsModule] }).compile();
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

  it('is documented from its protection and inputs alone', () => {
    const doc = buildOpenApiDocument(app) as Json;
    const post = doc.paths['/api/v1/tenants/{tenantId}/things/{thingId}'].post;
    // Tenant-scoped, no operator field: a scoped key is never refused with a 403 here.
    expect(Object.keys(post.responses).sort()).toEqual(['201', '400', '401', '404']);
    expect(post.security).toEqual([{ 'api-key': [] }]);
    expect(post.parameters.filter((p: Json) => p.in === 'path').map((p: Json) => p.name).sort()).toEqual(['tenantId', 'thingId']);
    expect(post.responses['401'].content['application/json'].schema.$ref).toBe(ERROR_REF);
    // Operator-only: a tenant-scoped key gets a 403.
    expect(Object.keys(doc.paths['/api/v1/tenants/{tenantId}/things/{thingId}'].patch.responses).sort()).toEqual(['200', '400', '401', '403', '404']);
    const del = doc.paths['/api/v1/tenants/{tenantId}/things'].delete;
    // Public, takes nothing but a path naming a tenant: 204 (its @HttpCode) or 404.
    expect(Object.keys(del.responses).sort()).toEqual(['204', '404']);
    expect(del.security).toBeUndefined();
  });
});
