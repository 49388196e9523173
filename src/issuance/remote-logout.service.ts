import { Injectable } from '@nestjs/common';
import type { RequestMeta } from '../common/request-meta';
import { SessionsService } from '../auth/sessions.service';
import { notFound } from '../common/errors';
import { InjectConfig } from '../config/config.module';
import { Config } from '../config/configuration';
import { BiLogoutService } from './bi-logout.service';
import { absoluteHttpUrl, basePathOf } from '../common/redirects';
import { SsoRepository } from './sso.repository';
import { targetDefinition } from '../products';
import { SsoError } from '../catalog/sso.errors';

/**
 * `GET /sso/<target>/logout`, Sisense's Remote Logout URL. The product's contract: "Sisense calls our
 * Remote Logout URL after its own logout; we end our session and send the user to a landing
 * page" — otherwise the next Sisense visit would silently sign the user straight back in.
 *
 * It is a GET the browser is sent to, so anyone's page can trigger it; a forged one can only
 * end the visitor's own session, which is why no CSRF token is asked for (as for /logout).
 */
@Injectable()
export class RemoteLogoutService {
  private readonly basePath: string;

  constructor(
    private readonly sessions: SessionsService,
    private readonly store: SsoRepository,
    private readonly biLogout: BiLogoutService,
    @InjectConfig('app') app: Config<'app'>,
  ) {
    this.basePath = basePathOf(app.publicUrl);
  }

  /**
   * Ends the cookie's session (live or not: an idle-expired row is closed too) and audits
   * `logout` in the same transaction. Returns where the browser goes next (the target's
   * logoutLandingUrl, else our signed-out page) and the logout URLs of the OTHER BI tools the
   * session signed in to: Sisense has ended its own session, but a Metabase opened by the
   * same session would otherwise stay signed in.
   */
  async end(slug: string, cookie: unknown, meta: RequestMeta): Promise<{ next: string; otherBiLogoutUrls: string[] }> {
    const loaded = await this.store.load(slug, null, null);
    // A disabled target still ends our session: the user logged out there and expects to be out.
    if (!loaded || !targetDefinition(loaded.target.kind)?.sso) throw notFound(SsoError.TargetNotFound, { target: slug });
    const { target } = loaded;
    let otherBiLogoutUrls: string[] = [];
    const ended = await this.sessions.logOut(cookie, meta, { via: target.kind, target: target.slug });
    const others = ended?.targetsUsed.filter((id) => id !== target.id) ?? [];
    if (ended && others.length) otherBiLogoutUrls = await this.biLogout.urlsFor({ tenantId: ended.tenantId, targetsUsed: others });
    const landing = absoluteHttpUrl(target.settings.logoutLandingUrl);
    return { next: landing ? landing.href : `${this.basePath}/logout`, otherBiLogoutUrls };
  }
}
