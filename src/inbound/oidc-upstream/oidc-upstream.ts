import type { InboundSourceFolder } from '../inbound-source';
import { UpstreamAdminController } from './upstream-admin.controller';
import { UpstreamLoginController } from './upstream-login.controller';
import { UpstreamProvidersService } from './upstream-providers.service';
import { UpstreamSignInSource } from './upstream.source';

/** Company sign-in at the tenant's own OpenID Connect provider (authorization code + PKCE). */
export const oidcUpstream: InboundSourceFolder = {
  name: 'oidc-upstream',
  providers: [UpstreamProvidersService, UpstreamSignInSource],
  controllers: [UpstreamAdminController, UpstreamLoginController],
  signIn: UpstreamSignInSource,
};
