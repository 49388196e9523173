import { Global, Inject, Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { configToken } from '../config/config.module';
import { Config } from '../config/configuration';
import { newDataSource } from './connection-errors';
import { dataSourceOptions } from './data-source';
import { resolveDatabaseUrl } from './database-url';
import { EmbeddedHandle } from './embedded-postgres';
import { runMigrationsLocked } from './migrations-runner';

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
      useFactory: (database: Config<'database'>, conn: DatabaseConnection) =>
        dataSourceOptions(conn.url, database.poolSize),
      dataSourceFactory: async (options) => {
        const ds = await newDataSource(options!).initialize();
        const applied = await runMigrationsLocked(ds);
        if (applied.length) new Logger('Migrations').log(`applied ${applied.join(', ')}`);
        return ds;
      },
    }),
  ],
  providers: [EmbeddedLifecycle],
})
export class DatabaseModule {}
