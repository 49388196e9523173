import { DataSource, DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '../../migrations';
import { ENTITIES } from './entities';

/**
 * The one set of DataSource options, shared by the app (TypeOrmModule) and the migration
 * CLI. synchronize is off everywhere: the schema comes only from migrations/.
 */
export function dataSourceOptions(url: string, poolSize = 20): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    migrationsRun: false,
    // TypeORM's own logger prints failed statements WITH their parameters (password hashes,
    // sealed secrets) as plain text: off. Errors reach the JSON log through the global
    // filter, which keeps a query error's code and constraint, never its parameters.
    logging: false,
    extra: {
      max: poolSize,
      connectionTimeoutMillis: 5000,
      // Fail a query rather than hang when Postgres blips.
      query_timeout: 15000,
    },
  };
}

export function createDataSource(url: string, poolSize?: number): DataSource {
  return new DataSource(dataSourceOptions(url, poolSize));
}
