import { Injectable } from '@nestjs/common';
import { IdentitiesService } from '../identities/identities.service';
import { SHARED_ACCOUNT_TENANTS_IN_DOMAIN_SQL, TENANT_USER_BASE_URLS_SQL } from './access.sql';

/**
 * Hands the identities module the reads of this module's access grants its rules need
 * (README "BI identities": a new user is claimed on the instances the tenant uses; a domain
 * is refused while another tenant's shared account is in it). Provided wherever users can be
 * created: the SSO module, and the create-operator CLI.
 */
@Injectable()
export class AccessIdentitySources {
  constructor(identities: IdentitiesService) {
    identities.provideSources({
      tenantUserBaseUrls: TENANT_USER_BASE_URLS_SQL,
      sharedAccountTenantsInDomain: SHARED_ACCOUNT_TENANTS_IN_DOMAIN_SQL,
    });
  }
}
