import { EnvReader } from './env';

/** The `tokens` namespace: minting tokens (how often a session may) and upkeep of the ledger. */
export interface TokensNamespace {
  pruneIntervalSeconds: number;
  /** Handshakes (SSO, signed and guest embeds, broker tokens) one session may make at once. */
  sessionBurst: number;
  /** ... and earns back per second. */
  sessionRatePerSecond: number;
}

/** TOKEN_PRUNE_INTERVAL, SSO_SESSION_BURST, SSO_SESSION_RATE. */
export function parseTokens(read: EnvReader): TokensNamespace {
  return {
    pruneIntervalSeconds: read.int('TOKEN_PRUNE_INTERVAL', 300, 1, 86400),
    sessionBurst: read.int('SSO_SESSION_BURST', 20, 1, 100_000),
    sessionRatePerSecond: read.int('SSO_SESSION_RATE', 5, 1, 100_000),
  };
}
