import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
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
      this.log.error({ requestId: req.id, err }, 'could not render the login form');
      if (!res.headersSent) res.status(500).type('text').send('Internal error');
    }
  }
}
