import { Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { InjectConfig } from '../../config/config.module';
import { Config } from '../../config/configuration';
import { brandOf } from '../../tenants/branding';
import { basePathOf, safeLocalPath } from '../../common/redirects';
import { LoginCsrfService } from './login-csrf.service';
import { echoFields, LIMITS, LoginRejected } from './login-form';
import { LoginService } from './login.service';
import { loginPage, sendPage } from './pages';

/** Builds and sends the login page: fresh (GET /login) or again with errors (a rejected POST). */
@Injectable()
export class LoginPagesService {
  constructor(
    private readonly csrf: LoginCsrfService,
    private readonly login: LoginService,
    @InjectConfig('app') private readonly app: Config<'app'>,
  ) {}

  /**
   * GET /login?tenant=<slug>&next=<path>. A known `tenant` is shown by its display name and
   * not asked again; an unknown one is only pre-filled. A `next` off this service is ignored.
   */
  async showForm(req: Request, res: Response): Promise<void> {
    const q = req.query as Record<string, unknown>;
    const slug = typeof q.tenant === 'string' ? q.tenant.trim().toLowerCase().slice(0, LIMITS.tenant) : '';
    const tenant = slug ? await this.login.tenantBySlug(slug) : null;
    sendPage(
      res,
      200,
      loginPage({
        basePath: basePathOf(this.app.publicUrl),
        csrf: this.csrf.forLoginForm(req, res),
        next: safeLocalPath(q.next, this.app.publicUrl),
        presetTenant: tenant ? { slug: tenant.slug, name: tenant.name } : null,
        brand: tenant ? brandOf(tenant) : null,
        tenantInput: tenant ? '' : slug,
        email: typeof q.email === 'string' ? q.email.slice(0, LIMITS.email) : '',
      }),
    );
  }

  /**
   * The form again after a rejected POST, with what was typed (never the password). A preset
   * organization stays preset; a typed one stays typed — so the page does not depend on
   * whether the tenant exists, and an unknown tenant looks like any other failure.
   */
  async showRejected(req: Request, res: Response, e: LoginRejected): Promise<void> {
    const f = echoFields(req.body, this.app.publicUrl);
    const tenant = f.orgPreset && f.tenant ? await this.login.tenantBySlug(f.tenant) : null;
    if (e.retryAfterSeconds) res.setHeader('Retry-After', String(e.retryAfterSeconds));
    sendPage(
      res,
      e.status,
      loginPage({
        basePath: basePathOf(this.app.publicUrl),
        csrf: this.csrf.forLoginForm(req, res),
        next: f.next,
        presetTenant: tenant ? { slug: tenant.slug, name: tenant.name } : null,
        brand: tenant ? brandOf(tenant) : null,
        tenantInput: tenant ? '' : f.tenant,
        email: f.email,
        error: e.message,
        fieldErrors: e.fieldErrors,
      }),
    );
  }
}
