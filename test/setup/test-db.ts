import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** The server URL (any database) and the migrated template, both set by global-setup.ts. */
export function testServerUrl(): string {
  const url = process.env.TEST_PG_SERVER_URL;
  if (!url) throw new Error('TEST_PG_SERVER_URL is not set: run the tests through jest (global-setup.ts)');
  return url;
}

export function templateDatabase(): string {
  return process.env.TEST_PG_TEMPLATE ?? 'embed_idp_template';
}

export function databaseUrl(name: string): string {
  const u = new URL(testServerUrl());
  u.pathname = `/${name}`;
  return u.toString();
}

export async function withAdminClient<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: testServerUrl() });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** A fresh database: copied from the migrated template, or empty. */
export async function createDatabase(opts: { empty?: boolean } = {}): Promise<{ name: string; url: string }> {
  const name = `t_${process.pid}_${randomBytes(5).toString('hex')}`;
  await withAdminClient((c) =>
    c.query(`CREATE DATABASE "${name}"${opts.empty ? ' TEMPLATE template0' : ` TEMPLATE "${templateDatabase()}"`}`),
  );
  return { name, url: databaseUrl(name) };
}

export async function dropDatabase(name: string): Promise<void> {
  await withAdminClient((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
}
