import { DomainError, forbidden, notFound } from '../common/errors';
import { fieldLabel } from '../common/validation-messages';
import type { RouteScope } from '../common/route-protection';
import type { AdminPrincipal } from './auth.types';
import { AuthError } from './auth.errors';

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

/** Refuses a tenant-scoped principal that sends one of `fields` in `body`. */
export function assertNoOperatorFields(principal: AdminPrincipal, fields: readonly string[], body: unknown): void {
  if (principal.tenantId === null || typeof body !== 'object' || body === null) return;
  const sent = fields.find((f) => Object.prototype.hasOwnProperty.call(body, f));
  if (sent) {
    throw new DomainError(AuthError.OperatorOnlyField, 403, `${fieldLabel(sent)} can only be set by a platform operator (a global API key)`, { field: sent }, `key ${principal.keyId} is tenant-scoped`);
  }
}
