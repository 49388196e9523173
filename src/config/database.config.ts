import { EnvReader, NodeEnv } from './env';

/** The `database` namespace: which Postgres, and how many connections to it. */
export interface DatabaseNamespace {
  /** Undefined means: start the embedded Postgres under DATA_DIR. */
  url?: string;
  embeddedPort: number;
  poolSize: number;
}

/** DATABASE_URL, EMBEDDED_PG_PORT, DB_POOL_SIZE. */
export function parseDatabase(read: EnvReader, nodeEnv: NodeEnv): DatabaseNamespace {
  const url = read.str('DATABASE_URL');
  if (url !== undefined) {
    try {
      const u = new URL(url);
      if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new Error('scheme');
    } catch {
      read.problems.push('DATABASE_URL: must be a postgres:// or postgresql:// URL');
    }
  } else if (nodeEnv === 'production') {
    // The embedded Postgres is a development convenience (a devDependency, absent from the
    // production image): production names its database.
    read.problems.push('DATABASE_URL: is required in production (postgres://user:password@host:5432/db)');
  }
  return {
    url,
    embeddedPort: read.int('EMBEDDED_PG_PORT', 54329, 1, 65535),
    poolSize: read.int('DB_POOL_SIZE', 20, 1, 500),
  };
}
