import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { Reflector } from '@nestjs/core';
import { forbidden } from '../common/errors';
import { TenantsService } from '../tenants/tenants.service';
import { assertNoOperatorFields, authorizeAdmin } from './admin-scope';
import { ADMIN_SCOPE, operatorOnlyFields, RouteScope, AUTH_KIND, AuthKind } from '../common/route-protection';
import { ApiKeysService } from './api-keys.service';
import { AuthenticatedRequest } from './auth.decorators';
import type { AdminPrincipal } from './auth.types';
import { SessionsService } from './sessions.service';
import { AuthError } from './auth.errors';

/**
 * Deny by default: a route must declare @Public(), @AdminApi() or @LoadsSession(); an admin
 * route also declares who may call it (@GlobalOnly() / @TenantScoped()). The declarations are
 * in common/route-protection.ts, the rule in admin-scope.ts; enforced here before any pipe or
 * handler runs.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly apiKeys: ApiKeysService,
    private readonly sessions: SessionsService,
    private readonly tenants: TenantsService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const kind = this.reflector.getAllAndOverride<AuthKind | undefined>(AUTH_KIND, [ctx.getHandler(), ctx.getClass()]);
    const req = ctx.switchToHttp().getRequest<AuthenticatedRequest>();
    switch (kind) {
      case 'public':
        return true;
      case 'api-key':
        req.principal = await this.apiKeys.authenticate(req.headers.authorization);
        await this.authorize(ctx, req, req.principal);
        return true;
      case 'session':
        req.sessionContext = await this.sessions.fromRequest(req);
        return true;
      default:
        throw forbidden(AuthError.Forbidden, 'Forbidden', `route ${req.method} ${req.path} declares no protection`);
    }
  }

  private async authorize(ctx: ExecutionContext, req: AuthenticatedRequest, principal: AdminPrincipal): Promise<void> {
    const scope = this.reflector.getAllAndOverride<RouteScope | undefined>(ADMIN_SCOPE, [ctx.getHandler(), ctx.getClass()]);
    if (!scope) throw forbidden(AuthError.Forbidden, 'Forbidden', `admin route ${req.method} ${req.path} declares no scope`);
    // Global-only first: its 403 is the same whichever tenant the path names, so it tells nothing.
    if (scope.kind === 'global') return authorizeAdmin(principal, scope);
    const ref: unknown = req.params?.tenantId;
    let tenantId: string | undefined;
    if (ref !== undefined) {
      // A path names a tenant by id or slug (README Quick start); unknown, malformed and
      // another tenant's all get the one 404.
      tenantId = await this.tenants.idOf(ref);
      // Handlers read the resolved id (ScopedTenantId), never the raw segment.
      req.params.tenantId = tenantId;
      req.scopedTenantId = tenantId;
    }
    authorizeAdmin(principal, scope, tenantId);
    assertNoOperatorFields(principal, operatorOnlyFields(bodyType(ctx)), req.body);
  }
}

/** The class of the handler's @Body() parameter, where its DTO declares operator-only fields. */
function bodyType(ctx: ExecutionContext): unknown {
  const cls = ctx.getClass();
  const method = ctx.getHandler().name;
  const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, cls, method) ?? {}) as Record<string, { index: number; data?: unknown }>;
  const types = (Reflect.getMetadata('design:paramtypes', cls.prototype, method) ?? []) as unknown[];
  for (const [key, arg] of Object.entries(args)) {
    // Only a whole-body parameter (@Body(), not @Body('field')).
    if (key.split(':')[0] === String(RouteParamtypes.BODY) && arg.data === undefined) return types[arg.index];
  }
  return undefined;
}
