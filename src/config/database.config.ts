import { EnvReader, NodeEnv } from './env';

/** The `database` namespace: which Postgres, and how many connections to it. */
export interface DatabaseNamespace {
  /** Undefined means: start the embedded Postgres under DATA_DIR. */
  url?: string;
  /**
   * DATABASE_DIRECT_URL: a connection straight to Postgres while `url` goes through a pooler in
   * transaction mode (PgBouncer). Set, it carries what needs one server session: migrations
   * (a session advisory lock) and the scheduled upkeep
   * (partitions, prunes, under session advisory locks); and `url` gets no named prepared
   * statements and no startup options, which a transaction pooler cannot keep per client.
   */
  directUrl?: string;
  embeddedPort: number;
  poolSize: number;
  /**
   * MIGRATE_ON_START (default on). Off: the process never migrates (a Kubernetes pre-upgrade
   * Job runs `node dist/src/database/migrate.js` before any replica starts) and refuses to
   * start while a migration is pending, so no replica serves an older schema than its code.
   */
  migrateOnStart: boolean;
}

function checkPostgresUrl(read: EnvReader, name: 'DATABASE_URL' | 'DATABASE_DIRECT_URL', url: string): void {
  try {
    const u = new URL(url);
    if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new Error('scheme');
  } catch {
    read.problems.push(`${name}: must be a postgres:// or postgresql:// URL`);
  }
}

/** DATABASE_URL, DATABASE_DIRECT_URL, EMBEDDED_PG_PORT, DB_POOL_SIZE, MIGRATE_ON_START. */
export function parseDatabase(read: EnvReader, nodeEnv: NodeEnv): DatabaseNamespace {
  const url = read.str('DATABASE_URL');
  if (url !== undefined) {
    checkPostgresUrl(read, 'DATABASE_URL', url);
  } else if (nodeEnv === 'production') {
    // The embedded Postgres is a development convenience (a devDependency, absent from the
    // production image): production names its database.
    read.problems.push('DATABASE_URL: is required in production (postgres://user:password@host:5432/db)');
  }
  const directUrl = read.str('DATABASE_DIRECT_URL');
  if (directUrl !== undefined) {
    if (url === undefined) read.problems.push('DATABASE_DIRECT_URL: set DATABASE_URL too (the pooler\'s URL); DATABASE_DIRECT_URL alone means nothing');
    else checkPostgresUrl(read, 'DATABASE_DIRECT_URL', directUrl);
  }
  return {
    url,
    directUrl,
    embeddedPort: read.int('EMBEDDED_PG_PORT', 54329, 1, 65535),
    poolSize: read.int('DB_POOL_SIZE', 20, 1, 500),
    migrateOnStart: read.onOff('MIGRATE_ON_START', true),
  };
}
