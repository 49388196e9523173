import { EnvReader } from './env';

/** The `tokens` namespace: minting tokens (how often a session may) and upkeep of the ledger. */
export interface TokensNamespace {
  pruneIntervalSeconds: number;
  /** Handshakes (SSO, signed and guest embeds, broker tokens) one session may make at once. */
  sessionBurst: number;
  /** ... and earns back per second. */
  sessionRatePerSecond: number;
  /**
   * Seconds a new signing key of a key-pair target is published in the JWKS before it signs:
   * longer than any verifier caches the JWKS (Grafana: 60 min), so none meets an unknown kid.
   */
  signingKeyPublicationDelaySeconds: number;
}

/** TOKEN_PRUNE_INTERVAL, SSO_SESSION_BURST, SSO_SESSION_RATE, SIGNING_KEY_PUBLICATION_DELAY. */
export function parseTokens(read: EnvReader): TokensNamespace {
  return {
    pruneIntervalSeconds: read.int('TOKEN_PRUNE_INTERVAL', 300, 1, 86400),
    sessionBurst: read.int('SSO_SESSION_BURST', 20, 1, 100_000),
    sessionRatePerSecond: read.int('SSO_SESSION_RATE', 5, 1, 100_000),
    // 70 min: Grafana caches jwk_set_url for 60 min, plus our JWKS's own max-age (5 min) and margin.
    signingKeyPublicationDelaySeconds: read.int('SIGNING_KEY_PUBLICATION_DELAY', 4200, 0, 30 * 86400),
  };
}
