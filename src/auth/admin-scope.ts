import { applyDecorators, SetMetadata } from '@nestjs/common';
import { DomainError, forbidden, notFound } from '../common/errors';
import { AdminApi } from './auth.decorators';
import type { AdminPrincipal } from './auth.types';
import { AuthError } from './auth.errors';

export const ADMIN_SCOPE = 'embed-idp:admin-scope';

/**
 * Who may call an admin route, declared on the route and enforced by the global AuthGuard
 * (no check in a handler to forget; test/e2e/admin-scope.e2e-spec.ts fails on a route that
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

const globalKeyRequired = (principal: AdminPrincipal) =>
  forbidden(AuthError.GlobalKeyRequired, 'This operation needs a global API key', `key ${principal.keyId} is tenant-scoped`);

/**
 * The admin API's one authorization rule, for the guard and for any other caller acting for
 * a principal (e.g. a console building an AdminPrincipal for a signed-in operator).
 * `tenantId` is the tenant the request is about (a route's resolved `:tenantId`), if any.
 * Another tenant's id gets the same 404 as an unknown tenant, so the caller learns nothing of it;
 * a global-only operation gets a 403 that does not depend on the tenant named at all.
 */
export function authorizeAdmin(principal: AdminPrincipal, scope: RouteScope, tenantId?: string): void {
  if (principal.tenantId === null) return;
  if (scope.kind === 'global') throw globalKeyRequired(principal);
  if (tenantId !== undefined && tenantId !== principal.tenantId) throw notFound(AuthError.TenantNotFound);
  if (scope.operatorOnly) throw globalKeyRequired(principal);
}

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

/** Refuses a tenant-scoped principal that sends one of `fields` in `body`. */
export function assertNoOperatorFields(principal: AdminPrincipal, fields: readonly string[], body: unknown): void {
  if (principal.tenantId === null || typeof body !== 'object' || body === null) return;
  const sent = fields.find((f) => Object.prototype.hasOwnProperty.call(body, f));
  if (sent) {
    throw new DomainError(AuthError.OperatorOnlyField, 403, `"${sent}" can only be set with a global API key`, { field: sent }, `key ${principal.keyId} is tenant-scoped`);
  }
}
