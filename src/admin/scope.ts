import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { AuthenticatedRequest } from '../auth/auth.decorators';
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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The `:tenantId` route parameter, already checked against the caller's key: a malformed id,
 * an unknown one and another tenant's all answer the same 404 before the handler runs. Using
 * it instead of a plain parameter makes the tenant-scope rule impossible to forget.
 */
export const ScopedTenantId = createParamDecorator((_: unknown, ctx: ExecutionContext): string => {
  const req = ctx.switchToHttp().getRequest<AuthenticatedRequest>();
  const tenantId = req.params.tenantId;
  if (typeof tenantId !== 'string' || !UUID.test(tenantId)) throw notFound('tenant');
  if (!req.principal) throw new Error('ScopedTenantId used on a route that is not @AdminApi()');
  const id = tenantId.toLowerCase();
  assertTenantInScope(req.principal, id);
  return id;
});
