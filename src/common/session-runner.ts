import { DataSource, QueryRunner } from 'typeorm';

/**
 * Runs `fn` on one server session: a query runner of `dataSource`, or, when `directUrl` is set
 * (DATABASE_URL is a transaction pooler), a connection of its own to DATABASE_DIRECT_URL,
 * closed after. Work under a session advisory lock (pg_try_advisory_lock … pg_advisory_unlock
 * across several statements, or statements that cannot run in a transaction block such as
 * DETACH PARTITION CONCURRENTLY) needs that: through a transaction pooler each statement may
 * reach another server connection, so the unlock would miss the lock and leave it held on a
 * connection other clients then use (PgBouncer docs, "SQL feature map for pooling modes").
 */
export async function withSession<T>(dataSource: DataSource, directUrl: string | undefined, fn: (runner: QueryRunner) => Promise<T>): Promise<T> {
  const ds = directUrl ? await new DataSource({ type: 'postgres', url: directUrl, extra: { max: 1 } }).initialize() : dataSource;
  try {
    const runner = ds.createQueryRunner();
    await runner.connect();
    try {
      return await fn(runner);
    } finally {
      await runner.release();
    }
  } finally {
    if (ds !== dataSource) await ds.destroy();
  }
}
