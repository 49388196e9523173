/**
 * Every column holding SecretBox-sealed values, with the context (AES-GCM additional data)
 * each value is sealed under. The SECRETS_KEY check (secrets-check.ts) probes these and
 * `rotate-secrets` re-seals every value listed here under the new key, so a sealed column
 * missing from this registry would be left unreadable after a rotation.
 *
 * A column holds either one sealed value (`shape: 'value'`, text) or a jsonb map of
 * name -> sealed value where every value in the map is sealed (`shape: 'map'`, as
 * targets.secrets: a product adds a secret without a migration).
 *
 * The module owning a sealed column registers it: a `registerSealedColumn({...})` call next
 * to its entity (so it is registered wherever the entity is, the app and the CLIs alike; this
 * module depends on no owner). test/system/secrets-rotation.system-spec.ts
 * fails when a column holding a sealed value (or an entity column named `*_enc`) is not
 * registered, and when a registered column is not an entity column of the right type.
 */
export interface SealedColumn {
  table: string;
  /** The primary key column(s), passed to `context` with the sealed value's name. */
  keyColumns: readonly string[];
  column: string;
  shape: 'value' | 'map';
  /** `name` is the value's key in a 'map' column, and the column's name for a 'value' column. */
  context(row: Record<string, string>, name: string): string;
}

const SEALED_COLUMNS: SealedColumn[] = [];

export function registerSealedColumn(c: SealedColumn): void {
  if (!SEALED_COLUMNS.some((s) => s.table === c.table && s.column === c.column)) SEALED_COLUMNS.push(c);
}

export function sealedColumns(): readonly SealedColumn[] {
  return SEALED_COLUMNS;
}

/** One sealed value of a row: where it is (for messages), and its context. */
export interface SealedValue {
  name: string;
  where: string;
  sealed: string;
  context: string;
}

/**
 * The sealed values a row of `c` holds. A map value that is not a string cannot be a sealed
 * value: it is given as is, so opening it fails and names where it is.
 */
export function sealedValues(c: SealedColumn, row: Record<string, unknown>): SealedValue[] {
  const keys = row as Record<string, string>;
  const at = `${c.table}.${c.column}`;
  const of = c.keyColumns.map((k) => `${k}=${keys[k]}`).join(', ');
  if (c.shape === 'value') {
    return [{ name: c.column, where: `${at} of ${of}`, sealed: row[c.column] as string, context: c.context(keys, c.column) }];
  }
  const map = (row[c.column] ?? {}) as Record<string, unknown>;
  return Object.entries(map).map(([name, sealed]) => ({
    name,
    where: `${at}[${JSON.stringify(name)}] of ${of}`,
    sealed: sealed as string,
    context: c.context(keys, name),
  }));
}

/** The column's new content with some of its values replaced (by name). */
export function withValues(c: SealedColumn, row: Record<string, unknown>, replaced: Map<string, string>): string {
  if (c.shape === 'value') return replaced.get(c.column) ?? (row[c.column] as string);
  const map = { ...((row[c.column] ?? {}) as Record<string, unknown>) };
  for (const [name, sealed] of replaced) map[name] = sealed;
  return JSON.stringify(map);
}
