import type { DynamicModule, ForwardReference, Provider, Type } from '@nestjs/common';
import { Test, TestingModule } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { AppConfigModule } from '../../src/config/config.module';
import { DatabaseModule } from '../../src/database/database.module';
import { createDatabase, dropDatabase } from './test-db';

export interface TestModule {
  /** The module graph: `app.get(SomeService)`, as on a TestApp. */
  app: TestingModule;
  ds: DataSource;
  /** The database's name and URL. */
  db: { name: string; url: string };
  close(): Promise<void>;
}

/**
 * Boots only what a repository or SQL spec tests: the configuration, the database module
 * (migrations already applied to the template) and `imports`/`providers`, on a fresh database
 * copied from the migrated template. No HTTP server, no global guard, pipe or filter, none of
 * the other modules: a spec here fails on its own module's code and nothing else's.
 * `env` sets extra variables for this module's configuration only.
 */
export async function createTestModule(opts: {
  imports?: (Type | DynamicModule | Promise<DynamicModule> | ForwardReference)[];
  providers?: Provider[];
  env?: Record<string, string | undefined>;
}): Promise<TestModule> {
  const db = await createDatabase();
  const saved = { ...process.env };
  Object.assign(process.env, { DATABASE_URL: db.url }, opts.env ?? {});
  for (const [k, v] of Object.entries(opts.env ?? {})) if (v === undefined) delete process.env[k];
  let app: TestingModule;
  try {
    app = await Test.createTestingModule({
      imports: [AppConfigModule, DatabaseModule, ...(opts.imports ?? [])],
      providers: opts.providers ?? [],
    }).compile();
    await app.init();
  } catch (err) {
    await dropDatabase(db.name);
    throw err;
  } finally {
    process.env = saved;
  }
  return {
    app,
    ds: app.get(DataSource),
    db,
    async close() {
      await app.close();
      await dropDatabase(db.name);
    },
  };
}
