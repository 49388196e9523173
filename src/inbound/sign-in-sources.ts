import { Inject, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { CompanySignIn } from '../auth/company-sign-in';
import { IdentitiesService } from '../identities/identities.service';
import { SIGN_IN_SOURCES, SignInSource } from './inbound-source';

/**
 * The sign-in sources (SIGN_IN_SOURCES, in the order of sources.ts) as the front door sees
 * them (COMPANY_SIGN_IN): home-realm discovery, whether a tenant has an identity provider
 * (its password setting applies only then), and the end-session link of the source that
 * opened a session. Names no source.
 */
@Injectable()
export class SignInSources implements CompanySignIn {
  private readonly byName: Map<string, SignInSource>;

  constructor(
    @Inject(SIGN_IN_SOURCES) private readonly sources: readonly SignInSource[],
    private readonly identities: IdentitiesService,
  ) {
    this.byName = new Map(sources.map((s) => [s.source, s]));
  }

  async hasProvider(tenantId: string): Promise<boolean> {
    for (const s of this.sources) if (await s.hasProvider(tenantId)) return true;
    return false;
  }

  async endSession(tenantId: string, openedBy: string | null): Promise<{ url: string; name: string } | null> {
    const source = openedBy ? this.byName.get(openedBy) : undefined;
    return source ? source.endSession(tenantId) : null;
  }

  /**
   * Home-realm discovery: the tenant owning the email's domain, then the first source that
   * takes the email says where the browser goes (null: none does).
   */
  async discover(email: string, next: string | null, req: Request, res: Response): Promise<string | null> {
    const tenantId = await this.identities.tenantOwningEmail(email);
    for (const s of this.sources) {
      const url = await s.begin({ email, tenantId, next }, req, res);
      if (url) return url;
    }
    return null;
  }
}
