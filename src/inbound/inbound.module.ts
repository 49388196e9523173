import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { AuthModule } from '../auth/auth.module';
import { COMPANY_SIGN_IN } from '../auth/company-sign-in';
import { CatalogModule } from '../catalog/catalog.module';
import { CryptoModule } from '../crypto/crypto.module';
import { IdentitiesModule } from '../identities/identities.module';
import { TenantsModule } from '../tenants/tenants.module';
import { UsersModule } from '../users/users.module';
import { CompanySignInController } from './company-sign-in.controller';
import { ConsumedAssertionsPruner } from './consumed-assertions-pruner';
import { HandoffLoginController } from './handoff-login.controller';
import { HandoffService } from './handoff.service';
import { HANDOFF_SOURCES, SIGN_IN_SOURCES } from './inbound-source';
import { HandoffConfigService } from './hs256/handoff-config.service';
import { IssuerLookup } from './issuer-lookup';
import { OidcIssuers } from './oidc-issuers';
import { UpstreamProvidersService } from './oidc-upstream/upstream-providers.service';
import { SignInSources } from './sign-in-sources';
import { INBOUND_SOURCES } from './sources';
import { TrustedIssuersService } from './trusted-issuer/trusted-issuers.service';

const handoffSources = INBOUND_SOURCES.flatMap((s) => (s.handoff ? [s.handoff] : []));
const signInSources = INBOUND_SOURCES.flatMap((s) => (s.signIn ? [s.signIn] : []));

/**
 * Inbound identity sources (README, "Host-app hand-off"): one folder each, listed in
 * sources.ts — `hs256/` the host app's HS256 assertion, `trusted-issuer/` a token from an OIDC
 * issuer the tenant trusts, `oidc-upstream/` company sign-in at the tenant's own OpenID Connect
 * provider, `password/` the login page's form as home-realm discovery's last resort. Shared:
 * the hand-off pipeline and its endpoints, home-realm discovery (`/login/company`), issuers'
 * discovery and keys. Owns handoff_settings, handoff_secrets, trusted_issuers,
 * upstream_oidc_providers and handoff_consumed_assertions. The SSO module imports it for the
 * `assertion` pre-step of /sso/<target>; the front door (src/auth/login) gets COMPANY_SIGN_IN.
 */
@Module({
  imports: [AuditModule, AuthModule, CatalogModule, CryptoModule, IdentitiesModule, TenantsModule, UsersModule],
  controllers: [HandoffLoginController, CompanySignInController, ...INBOUND_SOURCES.flatMap((s) => s.controllers)],
  providers: [
    IssuerLookup,
    OidcIssuers,
    ...INBOUND_SOURCES.flatMap((s) => s.providers),
    { provide: HANDOFF_SOURCES, useFactory: (...sources: unknown[]) => sources, inject: handoffSources },
    { provide: SIGN_IN_SOURCES, useFactory: (...sources: unknown[]) => sources, inject: signInSources },
    HandoffService,
    SignInSources,
    ConsumedAssertionsPruner,
    { provide: COMPANY_SIGN_IN, useExisting: SignInSources },
  ],
  // The console's sign-in sources and hand-off pages use the same services as the admin API.
  exports: [HandoffService, HandoffConfigService, COMPANY_SIGN_IN, TrustedIssuersService, UpstreamProvidersService],
})
export class InboundModule {}
