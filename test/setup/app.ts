import { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import type { Server } from 'node:http';
import { PinoLogger } from 'nestjs-pino';
import { DataSource } from 'typeorm';
import { AppModule } from '../../src/app.module';
import { configureApp } from '../../src/bootstrap';
import { configToken } from '../../src/config/config.module';
import type { Config } from '../../src/config/configuration';
import { createDatabase, dropDatabase } from './test-db';

export interface TestApp {
  app: NestExpressApplication;
  http: Server;
  ds: DataSource;
  /** The database's name and URL (kept when the app closes with { keepDatabase: true }). */
  db: { name: string; url: string };
  /** Base URL once listen() was called. */
  baseUrl?: string;
  /** Listens on 127.0.0.1 (`port`, else a free one) and returns the base URL. */
  listen(port?: number): Promise<string>;
  close(opts?: { keepDatabase?: boolean }): Promise<void>;
}

/**
 * Boots the real AppModule (same guard, pipe, filter as production) on a fresh database
 * copied from the migrated template, or on `database` when given (restart tests).
 * `env` sets extra variables for this app's configuration only.
 */
export async function createTestApp(
  opts: { env?: Record<string, string | undefined>; database?: { name: string; url: string } } = {},
): Promise<TestApp> {
  const db = opts.database ?? (await createDatabase());
  const saved = { ...process.env };
  Object.assign(process.env, { DATABASE_URL: db.url }, opts.env ?? {});
  for (const [k, v] of Object.entries(opts.env ?? {})) if (v === undefined) delete process.env[k];
  let app: NestExpressApplication;
  try {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = moduleRef.createNestApplication<NestExpressApplication>({ bodyParser: false, bufferLogs: true });
    configureApp(app);
    await app.init();
    // nestjs-pino keeps one pino root per process, built by the first app that logs; a test
    // file boots several apps, each with its own LOG_LEVEL, so this app's level applies now.
    if (PinoLogger.root) PinoLogger.root.level = app.get<Config<'app'>>(configToken('app')).logLevel;
  } finally {
    process.env = saved;
  }
  const t: TestApp = {
    app,
    http: app.getHttpServer(),
    ds: app.get(DataSource),
    db,
    async listen(port = 0) {
      await app.listen(port, '127.0.0.1');
      const addr = app.getHttpServer().address() as { port: number };
      t.baseUrl = `http://127.0.0.1:${addr.port}`;
      return t.baseUrl;
    },
    async close(closeOpts = {}) {
      await app.close();
      if (!closeOpts.keepDatabase) await dropDatabase(db.name);
    },
  };
  return t;
}
