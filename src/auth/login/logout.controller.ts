import { Controller, Get, Inject, Optional, Post, Req, Res } from '@nestjs/common';
import { COMPANY_SIGN_IN, CompanySignIn } from '../company-sign-in';
import type { Response } from 'express';
import { requestMeta } from '../../common/request-meta';
import { forbidden } from '../../common/errors';
import { crossSiteMessage, crossSiteSource } from '../../common/same-origin';
import { AuthError } from '../auth.errors';
import { Undocumented } from '../../common/openapi';
import { InjectConfig } from '../../config/config.module';
import { Config } from '../../config/configuration';
import { AuthenticatedRequest } from '../auth.decorators';
import { LoadsSession, SESSION_COOKIE } from '../../common/route-protection';
import { TenantsService } from '../../tenants/tenants.service';
import { basePathOf } from '../../common/redirects';
import { SessionsService } from '../sessions.service';
import { LogoutService } from './logout.service';
import { loggedOutPage, sendPage } from './pages';

/**
 * GET and POST /logout. GET too, because BI tools send the browser here (Sisense's Remote
 * Logout URL) and a link must work; a forged logout can only end the visitor's own session.
 */
@Undocumented('HTML signed-out page (or a redirect), for browsers')
@Controller('logout')
export class LogoutController {
  private readonly basePath: string;
  private readonly publicUrl: string;

  constructor(
    private readonly logout: LogoutService,
    private readonly sessions: SessionsService,
    private readonly tenants: TenantsService,
    @InjectConfig('app') app: Config<'app'>,
    // From the inbound module, handed over by AppModule (LoginModule.withBiLogout); absent: no IdP link.
    @Optional() @Inject(COMPANY_SIGN_IN) private readonly companySignIn?: CompanySignIn,
  ) {
    this.basePath = basePathOf(app.publicUrl);
    this.publicUrl = app.publicUrl;
  }

  @LoadsSession()
  @Get()
  viaGet(@Req() req: AuthenticatedRequest, @Res() res: Response): Promise<void> {
    return this.handle(req, res, (req.query as Record<string, unknown>).return_to);
  }

  @LoadsSession()
  @Post()
  viaPost(@Req() req: AuthenticatedRequest, @Res() res: Response): Promise<void> {
    // A forged POST could only end the visitor's own session, but a page of another site has
    // no business posting our forms: refused like every other form of ours.
    const from = crossSiteSource(req.headers, this.publicUrl);
    if (from) throw forbidden(AuthError.CrossSite, crossSiteMessage(from, this.publicUrl), `cross-site logout post from ${from.slice(0, 200)}`);
    const body = (req.body ?? {}) as Record<string, unknown>;
    return this.handle(req, res, body.return_to ?? (req.query as Record<string, unknown>).return_to);
  }

  /**
   * Ends the session, clears the cookie, then: a redirect to an allowed return_to, or the
   * signed-out page — which also loads the BI tools' logout URLs in hidden iframes, and, when
   * there are some and a return_to is allowed, moves on to it once they have had a moment.
   */
  private async handle(req: AuthenticatedRequest, res: Response, returnTo: unknown): Promise<void> {
    const tenant = req.sessionContext?.tenant;
    const tenantSlug = tenant?.slug;
    const ended = await this.logout.end(req.cookies?.[SESSION_COOKIE], requestMeta(req));
    this.sessions.clearCookie(res);
    const [target, biUrls, brand, idpLogout] = await Promise.all([
      this.logout.allowedReturnTo(returnTo, ended?.tenantId ?? null),
      this.logout.biLogoutUrls(ended),
      // The signed-out page in the look of the tenant the visitor was signed in to.
      tenant ? this.tenants.brandFor({ id: tenant.id }) : null,
      // A session company sign-in opened: the IdP's own session lives on (RP-Initiated Logout 1.0).
      ended && this.companySignIn ? this.companySignIn.endSession(ended.tenantId, ended.openedBy) : null,
    ]);
    if (target && !biUrls.length && !idpLogout) {
      res.set('Cache-Control', 'no-store').redirect(303, target);
      return;
    }
    sendPage(
      res,
      200,
      loggedOutPage({
        biLogoutUrls: biUrls,
        continueTo: target,
        loginHref: `${this.basePath}/login${tenantSlug ? `?tenant=${encodeURIComponent(tenantSlug)}` : ''}`,
        brand,
        idpLogout,
      }),
    );
  }
}
