import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { AuthModule } from '../auth/auth.module';
import { COMPANY_SIGN_IN } from '../auth/company-sign-in';
import { CatalogModule } from '../catalog/catalog.module';
import { CryptoModule } from '../crypto/crypto.module';
import { IdentitiesModule } from '../identities/identities.module';
import { TenantsModule } from '../tenants/tenants.module';
import { UsersModule } from '../users/users.module';
import { ConsumedAssertionsPruner } from './consumed-assertions-pruner';
import { HandoffLoginController } from './handoff-login.controller';
import { HandoffService } from './handoff.service';
import { HANDOFF_SOURCES } from './inbound-source';
import { HandoffAdminController } from './hs256/handoff-admin.controller';
import { HandoffConfigService } from './hs256/handoff-config.service';
import { HandoffKeys } from './hs256/handoff-keys';
import { Hs256HandoffSource } from './hs256/hs256.source';
import { IssuerLookup } from './issuer-lookup';
import { OidcIssuers } from './oidc-issuers';
import { UpstreamAdminController } from './oidc-upstream/upstream-admin.controller';
import { UpstreamLoginController } from './oidc-upstream/upstream-login.controller';
import { UpstreamProvidersService } from './oidc-upstream/upstream-providers.service';
import { TrustedIssuerHandoffSource } from './trusted-issuer/trusted-issuer.source';
import { TrustedIssuersController } from './trusted-issuer/trusted-issuers.controller';
import { TrustedIssuersService } from './trusted-issuer/trusted-issuers.service';

/**
 * Inbound identity sources (README, "Host-app hand-off"): one folder each — `hs256/` the
 * host app's HS256 assertion, `trusted-issuer/` a token from an OIDC issuer the tenant trusts, `oidc-upstream/`
 * company sign-in at the tenant's own OpenID Connect provider.
 * Owns handoff_settings, handoff_secrets, trusted_issuers, upstream_oidc_providers and handoff_consumed_assertions. The SSO module imports it for the `assertion` pre-step of
 * /sso/<target>. The password sign-in is the login page's (src/auth/login), below this layer.
 */
@Module({
  imports: [AuditModule, AuthModule, CatalogModule, CryptoModule, IdentitiesModule, TenantsModule, UsersModule],
  controllers: [HandoffAdminController, TrustedIssuersController, UpstreamAdminController, HandoffLoginController, UpstreamLoginController],
  providers: [
    HandoffConfigService,
    HandoffKeys,
    Hs256HandoffSource,
    IssuerLookup,
    OidcIssuers,
    TrustedIssuersService,
    TrustedIssuerHandoffSource,
    UpstreamProvidersService,
    // The order sources are asked in: the HS256 source takes any iss as a slug, so it is last.
    {
      provide: HANDOFF_SOURCES,
      useFactory: (trusted: TrustedIssuerHandoffSource, hs256: Hs256HandoffSource) => [trusted, hs256],
      inject: [TrustedIssuerHandoffSource, Hs256HandoffSource],
    },
    HandoffService,
    ConsumedAssertionsPruner,
    { provide: COMPANY_SIGN_IN, useExisting: UpstreamProvidersService },
  ],
  // The console's sign-in sources and hand-off pages use the same services as the admin API.
  exports: [HandoffService, HandoffConfigService, COMPANY_SIGN_IN, TrustedIssuersService, UpstreamProvidersService],
})
export class InboundModule {}
