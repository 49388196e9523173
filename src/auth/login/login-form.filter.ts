import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { isDatabaseUnavailable } from '../../common/db-unavailable';
import { LoginRejected } from './login-form';
import { LoginPagesService } from './login-pages.service';

/**
 * On POST /login a rejection is the form again (400 bad input or CSRF, 401 credentials, 429
 * throttled), not an error page. Other errors go on to the global HttpErrorFilter.
 */
@Catch(LoginRejected)
export class LoginFormFilter implements ExceptionFilter {
  private readonly log = new Logger('Login');

  constructor(private readonly pages: LoginPagesService) {}

  async catch(e: LoginRejected, host: ArgumentsHost): Promise<void> {
    const req = host.switchToHttp().getRequest<Request & { id?: unknown }>();
    const res = host.switchToHttp().getResponse<Response>();
    if (e.code !== 'login_failed') this.log.warn({ requestId: req.id, code: e.code, reason: e.internal }, e.message);
    try {
      await this.pages.showRejected(req, res, e);
    } catch (err) {
      // The form shows the tenant's branding, read from Postgres: while Postgres is away that
      // read fails, and the answer must be the outage's 503 (retry later), not a 500 of ours.
      const unavailable = isDatabaseUnavailable(err);
      this.log.error({ requestId: req.id, err }, 'could not render the login form');
      if (res.headersSent) return;
      if (unavailable) {
        res.status(503).set('Retry-After', '5').type('text').send('Sign-in is temporarily unavailable. Please try again in a moment.');
      } else {
        res.status(500).type('text').send('Internal error');
      }
    }
  }
}
