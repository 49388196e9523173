import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { Response } from 'express';
import passport from 'passport';
import { InjectConfig } from '../../config/config.module';
import { Config } from '../../config/configuration';
import { LoginCsrfService, CSRF_FIELD } from './login-csrf.service';
import { GENERIC_FAILURE, LOGIN_BODY_TOO_LARGE, LoginRejected, parseLoginForm } from './login-form';
import { LocalStrategy, LoginRequest } from './local.strategy';
import type { VerifiedLogin } from './login.service';
import { AuthError } from '../auth.errors';
import { crossSiteMessage, crossSiteSource } from '../../common/same-origin';

/**
 * First on POST /login: where it came from (our own origin), the CSRF token, then the fields' shapes. Both before any lookup or
 * password work, and nothing is stored when either fails.
 */
@Injectable()
export class LoginFormGuard implements CanActivate {
  constructor(
    private readonly csrf: LoginCsrfService,
    @InjectConfig('app') private readonly app: Config<'app'>,
  ) {}

  canActivate(ctx: ExecutionContext): boolean {
    const req = ctx.switchToHttp().getRequest<LoginRequest>();
    if ((req as unknown as Record<symbol, unknown>)[LOGIN_BODY_TOO_LARGE]) {
      throw new LoginRejected(AuthError.InvalidForm, 400, 'The form was too large to sign in with. Check what you typed and try again.', {}, undefined, 'login body over the limit');
    }
    const from = crossSiteSource(req.headers, this.app.publicUrl);
    if (from) {
      throw new LoginRejected(AuthError.CrossSite, 403, crossSiteMessage(from, this.app.publicUrl), {}, undefined, `cross-site login post from ${from.slice(0, 200)}`);
    }
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (!this.csrf.verifyLoginForm(req, body[CSRF_FIELD])) {
      throw new LoginRejected(
        AuthError.CsrfFailed,
        400,
        'This sign-in form has expired or was not sent from this page. Please try again.',
        {},
        undefined,
        'csrf token missing or wrong',
      );
    }
    req.loginForm = parseLoginForm(body, this.app.publicUrl);
    return true;
  }
}

/**
 * Second: passport-local with this application's LocalStrategy instance. Passed as an
 * instance (passport >= 0.6 accepts one) rather than by name, because passport's name
 * registry is process-wide and would send two apps in one process (tests) to the last one.
 */
@Injectable()
export class LocalLoginGuard implements CanActivate {
  constructor(private readonly strategy: LocalStrategy) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<LoginRequest>();
    const res = ctx.switchToHttp().getResponse<Response>();
    req.user = await new Promise<VerifiedLogin>((resolve, reject) => {
      // A per-request object: passport sets its success/fail/error callbacks on the strategy
      // it is given, so sharing one instance would mix up the answers of concurrent logins.
      const perRequest = Object.create(this.strategy) as passport.Strategy;
      const authenticate = passport.authenticate(perRequest, { session: false }, (err: unknown, user: VerifiedLogin | false) => {
        if (err) reject(err);
        else if (!user) reject(new LoginRejected(AuthError.LoginFailed, 401, GENERIC_FAILURE, {}, undefined, 'passport-local refused the request'));
        else resolve(user);
      });
      authenticate(req, res, (err?: unknown) => reject(err ?? new Error('passport did not finish the login')));
    });
    return true;
  }
}
