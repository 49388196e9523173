import type { InboundSourceFolder } from './inbound-source';
import { hs256 } from './hs256/hs256';
import { oidcUpstream } from './oidc-upstream/oidc-upstream';
import { password } from './password/password';
import { trustedIssuer } from './trusted-issuer/trusted-issuer';

/**
 * The inbound identity sources: how a person gets to us from elsewhere. Adding one (SAML 2.0,
 * say): a folder beside this file with its entity, admin API, routes and its HandoffSource
 * and/or SignInSource, its descriptor (InboundSourceFolder), and a line here. The module, the
 * hand-off pipeline, home-realm discovery and logout's end-session link are derived from this
 * list and name no source.
 *
 * Order is the order they are asked in: the HS256 hand-off takes any `iss` as a tenant's slug,
 * so it comes after the trusted issuers; the password form takes any email, so it is last.
 */
export const INBOUND_SOURCES: readonly InboundSourceFolder[] = [trustedIssuer, hs256, oidcUpstream, password];
