import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import type { AdminPrincipal, SessionContext } from './auth.types';

export interface AuthenticatedRequest extends Request {
  principal?: AdminPrincipal;
  /** The tenant a @TenantScoped() route's `:tenantId` resolved to, checked against the key. */
  scopedTenantId?: string;
  sessionContext?: SessionContext | null;
}

/** The API key's principal (on @AdminApi routes). */
export const Principal = createParamDecorator((_: unknown, ctx: ExecutionContext): AdminPrincipal => {
  const p = ctx.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (!p) throw new Error('Principal used on a route that is not @AdminApi()');
  return p;
});

/** The browser session, or null (on @LoadsSession routes). */
export const CurrentSession = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): SessionContext | null =>
    ctx.switchToHttp().getRequest<AuthenticatedRequest>().sessionContext ?? null,
);

/**
 * The `:tenantId` route parameter as the guard resolved it for a @TenantScoped() route: an
 * id (the path may give the slug), already checked against the caller's key.
 */
export const ScopedTenantId = createParamDecorator((_: unknown, ctx: ExecutionContext): string => {
  const id = ctx.switchToHttp().getRequest<AuthenticatedRequest>().scopedTenantId;
  if (!id) throw new Error('ScopedTenantId used on a route that is not @TenantScoped() with a :tenantId');
  return id;
});
