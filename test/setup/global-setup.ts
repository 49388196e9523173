import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { createDataSource } from '../../src/database/data-source';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres';
import { runMigrationsLocked } from '../../src/database/migrations-runner';

/**
 * Real Postgres for the whole run: DATABASE_URL when given, else an embedded cluster in a
 * temporary directory. Migrations are applied once to a template database; each test file
 * copies it into a fresh database of its own (test/setup/test-db.ts).
 */
export default async function globalSetup(): Promise<void> {
  let serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'embed-idp-test-'));
    fs.chmodSync(dir, 0o755);
    const pg = await startEmbeddedPostgres({ dir: path.join(dir, 'pg'), port: await freePort(), persistent: false });
    (globalThis as Record<string, unknown>).__EMBED_IDP_PG__ = { pg, dir };
    serverUrl = pg.adminUrl;
  }
  const template = `embed_idp_template_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${template}"`);
  await admin.end();
  const u = new URL(serverUrl);
  u.pathname = `/${template}`;
  const ds = createDataSource(u.toString(), 2);
  await ds.initialize();
  await runMigrationsLocked(ds);
  await ds.destroy();

  process.env.TEST_PG_SERVER_URL = serverUrl;
  process.env.TEST_PG_TEMPLATE = template;
  process.env.NODE_ENV = 'test';
  process.env.SECRETS_KEY = randomBytes(32).toString('hex');
  process.env.DATA_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'embed-idp-data-'));
  delete process.env.DATABASE_URL; // each app gets its own database's URL
  delete process.env.BOOTSTRAP_ADMIN_KEY;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
