import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { forbidden } from '../common/errors';
import { ApiKeysService } from './api-keys.service';
import { AUTH_KIND, AuthenticatedRequest, AuthKind } from './auth.decorators';
import { SessionsService } from './sessions.service';

/** Deny by default: a route must declare @Public(), @AdminApi() or @WithSession(). */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly apiKeys: ApiKeysService,
    private readonly sessions: SessionsService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const kind = this.reflector.getAllAndOverride<AuthKind | undefined>(AUTH_KIND, [ctx.getHandler(), ctx.getClass()]);
    const req = ctx.switchToHttp().getRequest<AuthenticatedRequest>();
    switch (kind) {
      case 'public':
        return true;
      case 'api-key':
        req.principal = await this.apiKeys.authenticate(req.headers.authorization);
        return true;
      case 'session':
        req.sessionContext = await this.sessions.fromRequest(req);
        return true;
      default:
        throw forbidden('forbidden', 'Forbidden', `route ${req.method} ${req.path} declares no protection`);
    }
  }
}
