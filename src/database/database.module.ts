import { Global, Inject, Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { configToken } from '../config/config.module';
import { Config } from '../config/configuration';
import { newDataSource } from './connection-errors';
import { createDataSource, dataSourceOptions } from './data-source';
import { resolveDatabaseUrl } from './database-url';
import { EmbeddedHandle } from './embedded-postgres';
import { pendingMigrations, PendingMigrationsError, runMigrationsLocked } from './migrations-runner';

const MIGRATION_SETTINGS = Symbol('MIGRATION_SETTINGS');

/**
 * Migrations hold a session advisory lock across several transactions: through a transaction
 * pooler they run on DATABASE_DIRECT_URL (one connection, closed after).
 */
async function migrate(ds: DataSource, directUrl: string | undefined): Promise<string[]> {
  if (!directUrl) return runMigrationsLocked(ds);
  const direct = await createDataSource(directUrl, 1).initialize();
  try {
    return await runMigrationsLocked(direct);
  } finally {
    await direct.destroy();
  }
}

export const DATABASE_CONNECTION = Symbol('DATABASE_CONNECTION');
interface DatabaseConnection {
  url: string;
  embedded?: EmbeddedHandle;
}

/** Owns the embedded cluster (when there is one) and stops it after the DataSource closes. */
@Injectable()
class EmbeddedLifecycle implements OnApplicationShutdown {
  constructor(
    @Inject(DATABASE_CONNECTION) private readonly conn: DatabaseConnection,
    private readonly dataSource: DataSource,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    if (!this.conn.embedded) return;
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
    await this.conn.embedded.stop();
  }
}

@Global()
@Module({
  providers: [
    {
      provide: DATABASE_CONNECTION,
      inject: [configToken('database'), configToken('app')],
      useFactory: (database: Config<'database'>, app: Config<'app'>) => {
        const log = new Logger('EmbeddedPostgres');
        return resolveDatabaseUrl(database, app.dataDir, (line) => log.debug(line));
      },
    },
  ],
  exports: [DATABASE_CONNECTION],
})
class DatabaseConnectionModule {}

@Module({
  imports: [
    DatabaseConnectionModule,
    TypeOrmModule.forRootAsync({
      inject: [configToken('database'), DATABASE_CONNECTION],
      useFactory: (database: Config<'database'>, conn: DatabaseConnection) => ({
        ...dataSourceOptions(conn.url, database.poolSize, { transactionPooler: database.directUrl !== undefined }),
        // Read back by dataSourceFactory (the factory is handed the options alone).
        [MIGRATION_SETTINGS]: { migrateOnStart: database.migrateOnStart, directUrl: database.directUrl },
      }),
      dataSourceFactory: async (options) => {
        const settings = (options as unknown as Record<symbol, { migrateOnStart: boolean; directUrl?: string }>)[MIGRATION_SETTINGS];
        const ds = await newDataSource(options!).initialize();
        try {
          if (settings.migrateOnStart) {
            const applied = await migrate(ds, settings.directUrl);
            if (applied.length) new Logger('Migrations').log(`applied ${applied.join(', ')}`);
          } else {
            const pending = await pendingMigrations(ds);
            if (pending.length) throw new PendingMigrationsError(pending);
          }
        } catch (err) {
          await ds.destroy().catch(() => undefined);
          throw err;
        }
        return ds;
      },
    }),
  ],
  providers: [EmbeddedLifecycle],
})
export class DatabaseModule {}
