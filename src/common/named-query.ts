import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { createHash } from 'node:crypto';

/** TypeORM's PostgresDriver keeps the pg Pool as `master` (no replication configured). */
export function poolOf(dataSource: DataSource): Pool {
  return (dataSource.driver as unknown as { master: Pool }).master;
}

/**
 * Set (in the DataSource's `extra`, which node-postgres ignores beyond the keys it knows) when
 * DATABASE_URL is a transaction pooler (PgBouncer pool_mode=transaction, DATABASE_DIRECT_URL
 * set): a statement prepared on one server connection is unknown on the next transaction's
 * (PgBouncer before 1.21 does not track them), so namedQuery sends the text unnamed there.
 */
export const TRANSACTION_POOLER = 'embedIdpTransactionPooler';

function transactionPooled(dataSource: DataSource): boolean {
  return (dataSource.options as { extra?: Record<string, unknown> }).extra?.[TRANSACTION_POOLER] === true;
}

const names = new Map<string, string>();

/**
 * Runs `text` as a named (prepared) statement on the DataSource's pg pool: Postgres parses and
 * plans it once per connection instead of on every call. For the hot path's statements that
 * is most of what they cost the database (README "Performance": the session lookup 0.32 ms of
 * Postgres CPU planned per request, 0.03 ms prepared). The name is derived from the text: one
 * name, one text.
 */
export async function namedQuery<T>(dataSource: DataSource, text: string, values: unknown[]): Promise<T[]> {
  if (transactionPooled(dataSource)) return (await poolOf(dataSource).query({ text, values })).rows as T[];
  let name = names.get(text);
  if (!name) {
    name = `q_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
    names.set(text, name);
  }
  return (await poolOf(dataSource).query({ name, text, values })).rows as T[];
}
