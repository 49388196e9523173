import type { InboundSourceFolder } from '../inbound-source';
import { TrustedIssuerHandoffSource } from './trusted-issuer.source';
import { TrustedIssuersController } from './trusted-issuers.controller';
import { TrustedIssuersService } from './trusted-issuers.service';

/** A token (ID token or JWT access token) from an OIDC issuer the tenant trusts, handed off by the host app. */
export const trustedIssuer: InboundSourceFolder = {
  name: 'trusted-issuer',
  providers: [TrustedIssuersService, TrustedIssuerHandoffSource],
  controllers: [TrustedIssuersController],
  handoff: TrustedIssuerHandoffSource,
};
