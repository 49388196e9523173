import { Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { InjectConfig } from '../../config/config.module';
import { Config } from '../../config/configuration';
import { basePathOf, safeLocalPath } from '../../common/redirects';
import { LoginCsrfService } from './login-csrf.service';
import { echoFields, LIMITS, LoginRejected } from './login-form';
import { loginPage, sendPage } from './pages';

/** Builds and sends the login page: fresh (GET /login) or again with errors (a rejected POST). */
@Injectable()
export class LoginPagesService {
  constructor(
    private readonly csrf: LoginCsrfService,
    @InjectConfig('app') private readonly app: Config<'app'>,
  ) {}

  /**
   * GET /login?tenant=<slug>&next=<path>. `tenant` only pre-fills the organization field: it
   * is not looked up, so the page is the same whether that organization exists or not (its
   * name and look would tell an outsider which organizations use this service). A `next`
   * off this service is ignored.
   */
  async showForm(req: Request, res: Response): Promise<void> {
    const q = req.query as Record<string, unknown>;
    const slug = typeof q.tenant === 'string' ? q.tenant.trim().toLowerCase().slice(0, LIMITS.tenant) : '';
    sendPage(
      res,
      200,
      loginPage({
        basePath: basePathOf(this.app.publicUrl),
        csrf: this.csrf.forLoginForm(req, res),
        next: safeLocalPath(q.next, this.app.publicUrl),
        tenantInput: slug,
        email: typeof q.email === 'string' ? q.email.slice(0, LIMITS.email) : '',
      }),
    );
  }

  /**
   * The form again after a rejected POST, with what was typed (never the password). Nothing
   * is looked up: an unknown organization looks like any other failure.
   */
  async showRejected(req: Request, res: Response, e: LoginRejected): Promise<void> {
    const f = echoFields(req.body, this.app.publicUrl);
    if (e.retryAfterSeconds) res.setHeader('Retry-After', String(e.retryAfterSeconds));
    sendPage(
      res,
      e.status,
      loginPage({
        basePath: basePathOf(this.app.publicUrl),
        csrf: this.csrf.forLoginForm(req, res),
        next: f.next,
        tenantInput: f.tenant,
        email: f.email,
        error: e.message,
        fieldErrors: e.fieldErrors,
      }),
    );
  }
}
