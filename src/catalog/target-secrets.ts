/**
 * The AES-GCM additional data a target's secret is sealed under (see SecretBox): a sealed
 * value copied to another target or secret name does not open there. The name is written in
 * snake_case (`embeddingSecret` -> `embedding_secret`), as the columns these secrets lived in
 * before they became one map, so sealed values moved over unchanged. The one definition, for
 * the admin API that seals, this cache that opens, and test/factories.ts.
 */
export const targetSecretContext = (targetId: string, name: string) =>
  `target:${targetId}:${name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`;
