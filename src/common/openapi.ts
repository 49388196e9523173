import { applyDecorators, INestApplication, RequestMethod, SetMetadata } from '@nestjs/common';
import {
  HTTP_CODE_METADATA,
  METHOD_METADATA,
  PATH_METADATA,
  REDIRECT_METADATA,
  RESPONSE_PASSTHROUGH_METADATA,
  ROUTE_ARGS_METADATA,
} from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { DiscoveryService, MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
import {
  ApiExcludeController,
  ApiExcludeEndpoint,
  ApiResponse,
  ApiResponseNoStatusOptions,
  ApiResponseOptions,
  DocumentBuilder,
  OpenAPIObject,
  SwaggerModule,
} from '@nestjs/swagger';
import type { ContentObject, OperationObject, ParameterObject, ResponseObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { ADMIN_SCOPE, operatorOnlyFields, RouteScope, AUTH_KIND, AuthKind, SESSION_COOKIE } from './route-protection';
import { ErrorResponse } from './error-response';
import { mayAnswerHtml } from './http-error.filter';

/**
 * The OpenAPI document served at /api/docs, completed from the metadata the request pipeline
 * itself runs on, so a new route is documented right without per-route work:
 * - security from its protection kind (the AuthGuard's AUTH_KIND);
 * - the error answers that protection and its inputs can give (401/403 for an API key, 400
 *   for anything bound through the pipes, 404 for a path naming something), all referring to
 *   the one ErrorResponse schema that HttpErrorFilter sends;
 * - its success status from @HttpCode/@Redirect (Nest's own rule), every path parameter.
 * What metadata cannot know is declared on the route: @Responds (a handler writing its own
 * response), @ApiErrors (a conflict, a rate limit), @Undocumented (with the reason).
 * test/medium/openapi.medium-spec.ts checks the result against the routes the app serves.
 */

export const SECURITY = { apiKey: 'api-key', session: 'session' } as const;
export const UNDOCUMENTED = 'embed-idp:undocumented';
export const RESPONDS = 'embed-idp:responds';

const ERROR_SCHEMA = { $ref: `#/components/schemas/${ErrorResponse.name}` };

/** A route (or a whole controller) left out of /api/docs, saying why (e.g. HTML for browsers). */
export function Undocumented(reason: string): ClassDecorator & MethodDecorator {
  return (target: object, key?: string | symbol, descriptor?: PropertyDescriptor) => {
    if (descriptor) {
      ApiExcludeEndpoint()(target, key!, descriptor);
      Reflect.defineMetadata(UNDOCUMENTED, reason, descriptor.value as object);
    } else {
      ApiExcludeController()(target as Function);
      Reflect.defineMetadata(UNDOCUMENTED, reason, target);
    }
  };
}

/**
 * The success answers of a handler that writes its own response (`@Res()`), which Nest (and
 * so the document) cannot see: `@Responds({ 302: 'to the BI tool', 200: { description, type } })`.
 * A 3xx gets its Location header documented.
 */
export function Responds(answers: Record<number, string | ApiResponseNoStatusOptions>): MethodDecorator {
  const statuses = Object.keys(answers).map(Number);
  return applyDecorators(
    SetMetadata(RESPONDS, statuses),
    ...statuses.map((status) => {
      const given = answers[status];
      const opts = (typeof given === 'string' ? { description: given } : given) as ApiResponseOptions;
      const headers = status >= 300 && status < 400 ? { Location: { description: 'Where to go', schema: { type: 'string' } } } : undefined;
      return ApiResponse({ ...opts, status, ...(headers ? { headers: { ...headers, ...(opts.headers ?? {}) } } : {}) } as ApiResponseOptions);
    }),
  );
}

/**
 * Error answers a route gives beyond the standard ones of its protection and inputs
 * (see standardErrors), each with the ErrorResponse body: `@ApiErrors({ 409: 'slug taken' })`.
 */
export function ApiErrors(errors: Record<number, string>): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...Object.entries(errors).map(([status, description]) => ApiResponse({ status: Number(status), description, type: ErrorResponse })),
  ) as MethodDecorator & ClassDecorator;
}

/** What the document needs to know of a handler, read from the metadata Nest routes with. */
export interface RouteFacts {
  kind: AuthKind | undefined;
  /** Binds route parameters, the query or the body through the pipes (InputSanityPipe, ValidationPipe). */
  bindsInput: boolean;
  /** The path names something that may not exist (it has a `:param`). */
  hasPathParams: boolean;
  /** Who may call an admin route (@GlobalOnly / @TenantScoped). */
  scope?: RouteScope;
  /** Body fields only a global key may send (@OperatorOnly on the body DTO). */
  operatorFields?: readonly string[];
}

/**
 * The errors a route can answer because of how it is protected and what it takes, with what
 * they mean. A route declares anything further itself (@ApiErrors).
 */
export function standardErrors(r: RouteFacts): Record<number, string> {
  const errors: Record<number, string> = {};
  if (r.bindsInput) errors[400] = 'The request is malformed: a field, parameter or the body (details.problems lists what)';
  if (r.kind === 'api-key') {
    errors[401] = 'No API key, an unknown or revoked one, or one of a disabled tenant';
    // authorizeAdmin: a tenant-scoped key on an operator operation; assertNoOperatorFields: on an operator field.
    if (!r.scope) errors[403] = 'The route declares no scope, so every key is refused';
    else if (r.scope.operatorOnly) errors[403] = 'Needs a global API key (global_key_required)';
    else if (r.operatorFields?.length) errors[403] = `Only a global API key may send ${r.operatorFields.join(', ')} (operator_only_field)`;
  }
  if (r.hasPathParams) errors[404] = r.kind === 'api-key' ? "Not found (another tenant's resources answer the same)" : 'Not found';
  return errors;
}

/** The status Nest answers with when the handler returns normally (no @Res()). */
export function nestStatus(handler: Function): number {
  const redirect = Reflect.getMetadata(REDIRECT_METADATA, handler) as { statusCode?: number } | undefined;
  if (redirect) return redirect.statusCode ?? 302;
  const code = Reflect.getMetadata(HTTP_CODE_METADATA, handler) as number | undefined;
  if (code) return code;
  return Reflect.getMetadata(METHOD_METADATA, handler) === RequestMethod.POST ? 201 : 200;
}

interface RouteArg {
  index: number;
  data?: unknown;
}

/** The handler's parameter bindings by kind (RouteParamtypes), e.g. BODY -> [{ index, data }]. */
export function routeArgs(cls: Function, method: string): Map<RouteParamtypes | 'custom', RouteArg[]> {
  const raw = (Reflect.getMetadata(ROUTE_ARGS_METADATA, cls, method) ?? {}) as Record<string, RouteArg>;
  const out = new Map<RouteParamtypes | 'custom', RouteArg[]>();
  for (const [key, arg] of Object.entries(raw)) {
    const type = key.split(':')[0];
    const kind = /^\d+$/.test(type) ? (Number(type) as RouteParamtypes) : 'custom';
    out.set(kind, [...(out.get(kind) ?? []), arg]);
  }
  return out;
}

/** Writes its own response (`@Res()` without passthrough): Nest cannot tell its status. */
export function ownsResponse(cls: Function, method: string): boolean {
  return routeArgs(cls, method).has(RouteParamtypes.RESPONSE) && !Reflect.getMetadata(RESPONSE_PASSTHROUGH_METADATA, cls, method);
}

interface Handler {
  cls: Function;
  method: string;
  fn: Function;
  kind: AuthKind | undefined;
  scope: RouteScope | undefined;
}

function handlers(app: INestApplication): Handler[] {
  const discovery = new DiscoveryService(app.get(ModulesContainer));
  const scanner = new MetadataScanner();
  const reflector = new Reflector();
  const out: Handler[] = [];
  for (const wrapper of discovery.getControllers()) {
    const cls = wrapper.metatype as Function | undefined;
    if (!cls || !wrapper.instance) continue;
    const proto = Object.getPrototypeOf(wrapper.instance) as Record<string, Function>;
    for (const method of scanner.getAllMethodNames(proto)) {
      const fn = proto[method];
      if (Reflect.getMetadata(PATH_METADATA, fn) === undefined) continue; // not a route handler
      const kind = reflector.getAllAndOverride<AuthKind | undefined>(AUTH_KIND, [fn, cls]);
      const scope = reflector.getAllAndOverride<RouteScope | undefined>(ADMIN_SCOPE, [fn, cls]);
      out.push({ cls, method, fn, kind, scope });
    }
  }
  return out;
}

/** The class of the handler's whole-body parameter (`@Body()`), if any. */
function bodyType(h: Handler, args: Map<RouteParamtypes | 'custom', RouteArg[]>): unknown {
  const body = (args.get(RouteParamtypes.BODY) ?? []).find((a) => a.data === undefined);
  const types = (Reflect.getMetadata('design:paramtypes', h.cls.prototype, h.method) ?? []) as unknown[];
  return body ? types[body.index] : undefined;
}

const operationId = (controller: string, method: string) => `${controller}_${method}`;

/** Builds the document from the running app (for /api/docs and for its test). */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('embed-idp admin API')
    .setDescription(
      'The admin API (tenants, users, groups, BI targets, access grants, API keys, audit events; ' +
        '`Authorization: Bearer <API key>`) and the browser-facing SSO routes the BI tools send users to ' +
        '(they read the `eidp_session` cookie). Every error answers with an ErrorResponse body.',
    )
    .setVersion('1')
    // API keys are opaque random strings (eidp_…), not JWTs: no bearerFormat (addBearerAuth
    // would add `bearerFormat: JWT`, and addCookieAuth a default cookie name, so both are spelt out).
    .addSecurity(SECURITY.apiKey, { type: 'http', scheme: 'bearer', description: 'An admin API key (eidp_…), global or tenant-scoped' })
    .addSecurity(SECURITY.session, { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE, description: 'The browser session cookie set by /login' })
    .build();
  const doc = SwaggerModule.createDocument(app, config, { extraModels: [ErrorResponse], operationIdFactory: operationId });
  const byId = new Map(handlers(app).map((h) => [operationId(h.cls.name, h.method), h]));
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const op of Object.values(item) as OperationObject[]) {
      if (typeof op !== 'object' || !op?.operationId) continue;
      const h = byId.get(op.operationId);
      if (h) complete(op, path, h);
    }
  }
  return adminApiFirst(doc);
}

/**
 * The admin API first, then the browser routes: Swagger UI lists tags in the order of the
 * document's `tags` (else as first met in `paths`), and a reader comes for the admin API.
 */
function adminApiFirst(doc: OpenAPIObject): OpenAPIObject {
  const admin = (p: string) => p.startsWith('/api/v1/');
  const entries = Object.entries(doc.paths);
  doc.paths = Object.fromEntries([...entries.filter(([p]) => admin(p)), ...entries.filter(([p]) => !admin(p))]);
  const seen: string[] = [];
  for (const item of Object.values(doc.paths)) {
    for (const op of Object.values(item) as OperationObject[]) {
      for (const tag of (typeof op === 'object' && op?.tags) || []) if (!seen.includes(tag)) seen.push(tag);
    }
  }
  const described = new Map((doc.tags ?? []).map((t) => [t.name, t]));
  doc.tags = seen.map((name) => described.get(name) ?? { name });
  return doc;
}

function complete(op: OperationObject, path: string, h: Handler): void {
  const args = routeArgs(h.cls, h.method);
  const pathParams = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);

  // Security from the protection the guard enforces. A session is optional ({}): the handler
  // decides what to do without one (SSO sends the browser to the login page).
  if (h.kind === 'api-key') op.security = [{ [SECURITY.apiKey]: [] }];
  else if (h.kind === 'session') op.security = [{ [SECURITY.session]: [] }, {}];
  else delete op.security;

  // Every path parameter, even those the handler does not bind (OPTIONS preflights); a path
  // segment is a string unless declared otherwise (@ApiParam without a type says nothing).
  const params = (op.parameters ?? []) as ParameterObject[];
  for (const name of pathParams) {
    const p = params.find((x) => x.in === 'path' && x.name === name);
    if (!p) params.push({ name, in: 'path', required: true, schema: { type: 'string' } });
    else if (!p.schema || (!('type' in p.schema) && !('$ref' in p.schema))) p.schema = { ...p.schema, type: 'string' };
  }
  op.parameters = params;

  const responses = op.responses as Record<string, ResponseObject>;
  const hasSuccess = Object.keys(responses).some((s) => /^[23]\d\d$/.test(s));
  if (!hasSuccess && !ownsResponse(h.cls, h.method)) responses[nestStatus(h.fn)] = { description: '' };

  const bindsInput = [RouteParamtypes.BODY, RouteParamtypes.QUERY, RouteParamtypes.PARAM].some((k) => args.has(k));
  const errors = standardErrors({ kind: h.kind, bindsInput, hasPathParams: pathParams.length > 0, scope: h.scope, operatorFields: operatorOnlyFields(bodyType(h, args)) });
  for (const [status, description] of Object.entries(errors)) {
    responses[status] = { ...responses[status], description: responses[status]?.description || description };
  }
  // Every error answer has the one body HttpErrorFilter sends; on browser routes a browser
  // asking for HTML gets it as a page instead.
  const html: ContentObject = mayAnswerHtml(path) ? { 'text/html': { schema: { type: 'string' } } } : {};
  for (const [status, res] of Object.entries(responses)) {
    if (Number(status) >= 400) res.content = { 'application/json': { schema: ERROR_SCHEMA }, ...html };
  }
}
