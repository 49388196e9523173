import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { absoluteHttpUrl, isOwnAbsoluteUrl, safeLocalPath } from '../../common/redirects';
import { InjectConfig } from '../../config/config.module';
import { Config } from '../../config/configuration';
import { TenantsService } from '../../tenants/tenants.service';
import { RequestMeta } from '../../common/request-meta';
import { BI_LOGOUT, BiLogout } from '../bi-logout';
import { SessionsService } from '../sessions.service';

export interface EndedSession {
  sessionId: string;
  userId: string;
  tenantId: string;
  targetsUsed: string[];
  /** How the session was opened: null by the password form, else the inbound source. */
  openedBy: string | null;
}

/**
 * Ends a browser session and decides where the browser goes next. The session is revoked
 * whether or not it was still live (an expired one still gets its row closed), and the BI
 * tools it signed in to are named so the signed-out page can end their sessions too.
 */
@Injectable()
export class LogoutService {
  private readonly log = new Logger(LogoutService.name);

  constructor(
    private readonly sessions: SessionsService,
    private readonly tenants: TenantsService,
    @InjectConfig('app') private readonly app: Config<'app'>,
    // From the SSO module, handed over by AppModule (LoginModule.withBiLogout); absent: no BI logout.
    @Optional() @Inject(BI_LOGOUT) private readonly biLogout?: BiLogout,
  ) {}

  /** Revokes the cookie's session and audits `logout` in one transaction; null when there was none. */
  end(cookie: unknown, meta: RequestMeta): Promise<EndedSession | null> {
    return this.sessions.logOut(cookie, meta);
  }

  /**
   * Where `return_to` may send the browser: a path (or URL) of this service, or — for the
   * tenant whose session just ended — the tenant's logout landing page or one registered on
   * a BI target it may use. Anything else is ignored (no open redirect).
   */
  async allowedReturnTo(returnTo: unknown, tenantId: string | null): Promise<string | null> {
    const publicUrl = this.app.publicUrl;
    const path = safeLocalPath(returnTo, publicUrl);
    if (path) return path;
    const absolute = absoluteHttpUrl(returnTo);
    if (!absolute) return null;
    if (isOwnAbsoluteUrl(returnTo, publicUrl)) return absolute.href;
    if (!tenantId) return null;
    const url = absolute.href;
    const tenant = await this.tenants.findById(tenantId).catch(() => null);
    const landing = absoluteHttpUrl(tenant?.logoutLandingUrl)?.href;
    if (landing && landing === url) return url;
    try {
      if (this.biLogout && (await this.biLogout.isTargetLandingPage(url, tenantId))) return url;
    } catch (err) {
      this.log.warn({ err }, 'could not check a target logout landing page');
    }
    return null;
  }

  /** Browser URLs that end the BI sessions this session opened (hidden iframes on the signed-out page). */
  async biLogoutUrls(ended: EndedSession | null): Promise<string[]> {
    if (!ended || !this.biLogout || !ended.targetsUsed.length) return [];
    try {
      const urls = await this.biLogout.urlsFor({ tenantId: ended.tenantId, targetsUsed: ended.targetsUsed });
      return urls.filter((u) => absoluteHttpUrl(u) !== null);
    } catch (err) {
      // Our own session has ended either way; the page says so even if a BI URL is missing.
      this.log.warn({ err }, 'could not list BI logout URLs');
      return [];
    }
  }
}
