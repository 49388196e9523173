import { INestApplication, RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { DiscoveryService, MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
import { AUTH_KIND, AuthKind, ADMIN_SCOPE, RouteScope } from '../../src/common/route-protection';

/** A route Nest serves, with the metadata the global AuthGuard reads for it. */
export interface RouteInfo {
  method: string;
  path: string;
  kind: AuthKind | undefined;
  /** Who may call an admin route (undefined: the route declares nothing). */
  scope: RouteScope | undefined;
  handler: string;
  /** The class of its @Body() parameter (the DTO the ValidationPipe checks), if it takes one. */
  body?: new (...args: unknown[]) => object;
}

export function joinPath(...parts: string[]): string {
  const joined = parts.map((p) => p.replace(/^\/+|\/+$/g, '')).filter(Boolean).join('/');
  return `/${joined}`;
}

const asList = (v: unknown): string[] => (Array.isArray(v) ? v : [v ?? '']).map(String);

/**
 * Every controller route of the running app, discovered (not written down, so routes added
 * later are covered), with its metadata read exactly as the guard reads it.
 */
export function nestRoutes(app: INestApplication): RouteInfo[] {
  const discovery = new DiscoveryService(app.get(ModulesContainer));
  const scanner = new MetadataScanner();
  const reflector = new Reflector();
  const routes: RouteInfo[] = [];
  for (const wrapper of discovery.getControllers()) {
    const cls = wrapper.metatype as (new (...args: unknown[]) => object) | undefined;
    if (!cls || !wrapper.instance) continue;
    const prefixes = asList(Reflect.getMetadata(PATH_METADATA, cls));
    const proto = Object.getPrototypeOf(wrapper.instance) as Record<string, unknown>;
    for (const name of scanner.getAllMethodNames(proto)) {
      const handler = proto[name] as (...args: unknown[]) => unknown;
      const paths = Reflect.getMetadata(PATH_METADATA, handler);
      if (paths === undefined) continue; // not a route handler
      const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod];
      const kind = reflector.getAllAndOverride<AuthKind | undefined>(AUTH_KIND, [handler, cls]);
      const scope = reflector.getAllAndOverride<RouteScope | undefined>(ADMIN_SCOPE, [handler, cls]);
      const body = bodyType(cls, proto, name);
      for (const prefix of prefixes) {
        for (const p of asList(paths)) routes.push({ method, path: joinPath(prefix, p), kind, scope, handler: `${cls.name}.${name}`, body });
      }
    }
  }
  return routes.sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method));
}

/** The path parameters of a route path, in order (`/a/:x/b/:y` -> ['x', 'y']; a wildcard `*rest` is one too). */
export function pathParams(path: string): string[] {
  return [...path.matchAll(/[:*](\w+)/g)].map((m) => m[1]);
}

/** The declared type of a handler's @Body() parameter (Nest keeps "<paramtype>:<index>" keys). */
function bodyType(cls: object, proto: object, name: string): RouteInfo['body'] {
  const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, cls, name) ?? {}) as Record<string, { index: number }>;
  const key = Object.keys(args).find((k) => k.split(':')[0] === String(RouteParamtypes.BODY));
  if (!key) return undefined;
  const types = Reflect.getMetadata('design:paramtypes', proto, name) as RouteInfo['body'][] | undefined;
  const t = types?.[args[key].index];
  return t && t !== Object ? t : undefined;
}
