import { DataSource, DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from '../../migrations';
import { TRANSACTION_POOLER } from '../common/named-query';
import { newDataSource } from './connection-errors';
import { ENTITIES } from './entities';

/**
 * The one set of DataSource options, shared by the app (TypeOrmModule) and the migration
 * CLI. synchronize is off everywhere: the schema comes only from migrations/.
 */
export function dataSourceOptions(url: string, poolSize = 20, opts: { transactionPooler?: boolean } = {}): DataSourceOptions {
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
      // Only the hot path's named statements (namedQuery) are cached plans; Postgres kept
      // re-planning the batched session lookup on every call (its custom-plan heuristic:
      // 0.07-0.1 ms of planning per request in pg_stat_statements). TypeORM's own queries
      // are unnamed, planned once each, and unaffected.
      // A transaction pooler (PgBouncer pool_mode=transaction) refuses startup options it does
      // not know and hands each transaction another server connection: no options there, and
      // no named statements either (namedQuery reads TRANSACTION_POOLER).
      ...(opts.transactionPooler ? { [TRANSACTION_POOLER]: true } : { options: '-c plan_cache_mode=force_generic_plan' }),
    },
  };
}


export function createDataSource(url: string, poolSize?: number, opts?: { transactionPooler?: boolean }): DataSource {
  return newDataSource(dataSourceOptions(url, poolSize, opts));
}
