import { applyDecorators, SetMetadata } from '@nestjs/common';

/**
 * What every route declares about its protection, as metadata: read by the global AuthGuard
 * (src/auth/auth.guard.ts), which enforces it, and by the OpenAPI document (./openapi.ts).
 * Declarations only, so any module's controllers can state them without depending on auth.
 */

/** The browser session cookie (`session` routes): set by auth's SessionsService at login. */
export const SESSION_COOKIE = 'eidp_session';

export const AUTH_KIND = 'embed-idp:auth-kind';
/**
 * Every route declares one of these; the global AuthGuard denies a route that declares none
 * (and test/medium/route-protection.medium-spec.ts fails on it).
 * - public:  no credentials (health, login page, public assets).
 * - api-key: `Authorization: Bearer <api key>`; the principal is on the request.
 * - session: the browser session is loaded when there is a valid one; the handler decides
 *            what to do without one (SSO sends to the login page, the SDK gets a JSON 401).
 */
export type AuthKind = 'public' | 'api-key' | 'session';

export const Public = () => SetMetadata(AUTH_KIND, 'public' satisfies AuthKind);
// The OpenAPI security of each kind is derived from this metadata (./openapi.ts).
export const AdminApi = () => SetMetadata(AUTH_KIND, 'api-key' satisfies AuthKind);
/**
 * Loads the browser session when the request carries a valid one, and does NOT require one:
 * the handler gets `@CurrentSession()` null and decides (SSO sends to the login page, the SDK
 * gets a JSON 401, logout still answers).
 */
export const LoadsSession = () => SetMetadata(AUTH_KIND, 'session' satisfies AuthKind);

export const ADMIN_SCOPE = 'embed-idp:admin-scope';

/**
 * Who may call an admin route, declared on the route and enforced by the global AuthGuard
 * (no check in a handler to forget; test/medium/admin-scope.medium-spec.ts fails on a route that
 * declares nothing, and generates its cross-tenant matrix from these declarations).
 * - `global`: about what every tenant shares (targets, creating tenants): global key only.
 * - `tenant`: about one tenant, the one in its `:tenantId` (the guard resolves an id or a
 *   slug and answers 404 to another tenant's key), or, without one, the caller's own tenant
 *   (the handler filters by it).
 * - `operatorOnly`: the global key only, also on a `tenant` route (granting BI access,
 *   deleting a tenant decide what the tenant gets, so its own key must not).
 */
export interface RouteScope {
  readonly kind: 'global' | 'tenant';
  readonly operatorOnly: boolean;
}

/** Global key only: operations on what every tenant shares. */
export const GlobalOnly = () =>
  applyDecorators(AdminApi(), SetMetadata(ADMIN_SCOPE, { kind: 'global', operatorOnly: true } satisfies RouteScope));

/** About one tenant: a tenant-scoped key may call it for its own tenant (unless `operatorOnly`). */
export const TenantScoped = (opts: { operatorOnly?: boolean } = {}) =>
  applyDecorators(
    AdminApi(),
    SetMetadata(ADMIN_SCOPE, { kind: 'tenant', operatorOnly: opts.operatorOnly ?? false } satisfies RouteScope),
  );

const OPERATOR_FIELDS = 'embed-idp:operator-only-fields';

/**
 * A request-body field only the operator (a global key) may send, such as a tenant's
 * `disabled`: a tenant admin must not lift their own suspension. Declared on the DTO
 * property; the guard refuses a tenant-scoped key that sends it (403 naming the field),
 * whatever its value, before anything is read or written.
 */
export function OperatorOnly(): PropertyDecorator {
  return (target: object, property: string | symbol) => {
    const inherited: string[] = Reflect.getMetadata(OPERATOR_FIELDS, target.constructor) ?? [];
    Reflect.defineMetadata(OPERATOR_FIELDS, [...inherited, String(property)], target.constructor);
  };
}

/** The operator-only fields a DTO class declares (its parents' included). */
export function operatorOnlyFields(dto: unknown): string[] {
  return typeof dto === 'function' ? ((Reflect.getMetadata(OPERATOR_FIELDS, dto) as string[] | undefined) ?? []) : [];
}
