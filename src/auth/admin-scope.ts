import { applyDecorators, SetMetadata } from '@nestjs/common';
import { DomainError, forbidden, notFound } from '../common/errors';
import { AdminApi } from './auth.decorators';
import type { AdminPrincipal } from './auth.types';

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
