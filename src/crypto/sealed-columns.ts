import { targetSecretContext } from '../sso/signing-keys';

/**
 * Every column holding a SecretBox-sealed value, with the context (AES-GCM additional data)
 * each row's value is sealed under. The SECRETS_KEY check (secrets-check.ts) probes these and
 * `rotate-secrets` re-seals every value listed here under the new key, so a sealed column
 * missing from this registry would be left unreadable after a rotation.
 *
 * A module that adds a sealed column registers it: a line in SEALED_COLUMNS below, or a
 * `registerSealedColumn({...})` call next to its entity. test/e2e/secrets-rotation.e2e-spec.ts
 * fails when an entity has a column named `*_enc` that is not registered.
 */
export interface SealedColumn {
  table: string;
  /** The primary key column(s), passed to `context` with the sealed column's value. */
  keyColumns: readonly string[];
  column: string;
  context(row: Record<string, string>): string;
}

const SEALED_COLUMNS: SealedColumn[] = [
  { table: 'targets', keyColumns: ['id'], column: 'secret_enc', context: (r) => targetSecretContext(r.id, 'secret') },
  {
    table: 'targets',
    keyColumns: ['id'],
    column: 'embedding_secret_enc',
    context: (r) => targetSecretContext(r.id, 'embedding_secret'),
  },
];

export function registerSealedColumn(c: SealedColumn): void {
  if (!SEALED_COLUMNS.some((s) => s.table === c.table && s.column === c.column)) SEALED_COLUMNS.push(c);
}

export function sealedColumns(): readonly SealedColumn[] {
  return SEALED_COLUMNS;
}
