import type { AdminPrincipal } from '../auth/auth.types';
import { forbidden, notFound } from '../common/errors';

/**
 * A tenant-scoped key sees and changes only its own tenant: any other tenant id gets the
 * same 404 as a tenant that does not exist, so the caller learns nothing about it.
 */
export function assertTenantInScope(principal: AdminPrincipal, tenantId: string): void {
  if (principal.tenantId !== null && principal.tenantId !== tenantId) throw notFound('tenant');
}

/** Operations on global resources (targets, tenants list/create, global keys) need a global key. */
export function requireGlobalKey(principal: AdminPrincipal): void {
  if (principal.tenantId !== null) {
    throw forbidden('global_key_required', 'This operation needs a global API key', `key ${principal.keyId} is tenant-scoped`);
  }
}
