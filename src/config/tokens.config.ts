import { EnvReader } from './env';

/** The `tokens` namespace: upkeep of the issued-token ledger. */
export interface TokensNamespace {
  pruneIntervalSeconds: number;
}

/** TOKEN_PRUNE_INTERVAL. */
export function parseTokens(read: EnvReader): TokensNamespace {
  return { pruneIntervalSeconds: read.int('TOKEN_PRUNE_INTERVAL', 300, 1, 86400) };
}
