import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { Request } from 'express';
import type { AdminPrincipal, SessionContext } from './auth.types';

export const AUTH_KIND = 'embed-idp:auth-kind';
/**
 * Every route declares one of these; the global AuthGuard denies a route that declares none
 * (and test/e2e/route-protection.e2e-spec.ts fails on it).
 * - public:  no credentials (health, login page, public assets).
 * - api-key: `Authorization: Bearer <api key>`; the principal is on the request.
 * - session: the browser session is loaded when there is a valid one; the handler decides
 *            what to do without one (SSO sends to the login page, the SDK gets a JSON 401).
 */
export type AuthKind = 'public' | 'api-key' | 'session';

export const Public = () => SetMetadata(AUTH_KIND, 'public' satisfies AuthKind);
// The OpenAPI security of each kind is derived from this metadata (src/common/openapi.ts).
export const AdminApi = () => SetMetadata(AUTH_KIND, 'api-key' satisfies AuthKind);
/**
 * Loads the browser session when the request carries a valid one, and does NOT require one:
 * the handler gets `@CurrentSession()` null and decides (SSO sends to the login page, the SDK
 * gets a JSON 401, logout still answers).
 */
export const LoadsSession = () => SetMetadata(AUTH_KIND, 'session' satisfies AuthKind);

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
