import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { DataSource } from 'typeorm';
import { SecretBox } from '../../src/crypto/secret-box';
import { sealedColumns } from '../../src/crypto/sealed-columns';
import { resealAll } from '../../src/crypto/secrets-check';
import { createDataSource } from '../../src/database/data-source';
import { TargetsService } from '../../src/sso/targets.service';
import { makeTarget } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { createDatabase, dropDatabase } from '../setup/test-db';

/**
 * SECRETS_KEY is checked at start against the value sealed at the first start: a changed key
 * stops the start naming SECRETS_KEY (it used to be a 500 at the first SSO). Rotation:
 * SECRETS_KEY_PREVIOUS opens, rotate-secrets re-seals, then the old key is not needed.
 */
const ROOT = path.resolve(__dirname, '..', '..');
function rotateSecrets(env: Record<string, string>) {
  return spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/crypto/rotate-secrets.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'development', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('SECRETS_KEY check and rotation', () => {
  const oldKey = randomBytes(32).toString('hex');
  const newKey = randomBytes(32).toString('hex');
  let db: { name: string; url: string };
  let t: TestApp | undefined;
  const SECRET = 'mb-jwt-secret-for-rotation-0123456789abcdef';

  beforeAll(async () => {
    db = await createDatabase();
  });
  afterAll(async () => {
    await t?.close({ keepDatabase: true });
    await dropDatabase(db.name);
  });
  const startWith = (env: Record<string, string | undefined>) => createTestApp({ database: db, env: { SECRETS_KEY_PREVIOUS: undefined, ...env } });
  const startError = (env: Record<string, string | undefined>) => startWith(env).then(async (app) => { await app.close({ keepDatabase: true }); return undefined; }, (e: Error) => e);

  it('refuses to start under another key, naming SECRETS_KEY; rotates with SECRETS_KEY_PREVIOUS and rotate-secrets', async () => {
    t = await startWith({ SECRETS_KEY: oldKey });
    const target = await makeTarget(t, { kind: 'metabase', baseUrl: 'https://mb.example.com', secret: SECRET, embeddingSecret: `${SECRET}-embed` });
    await t.close({ keepDatabase: true });
    t = undefined;

    const wrong = await startError({ SECRETS_KEY: newKey });
    expect(wrong?.message).toMatch(/^SECRETS_KEY is not the key this database's secrets were sealed with/);
    expect(wrong?.message).toContain('SECRETS_KEY_PREVIOUS');
    expect(wrong?.message).not.toContain(newKey);

    // During the rotation both keys open; nothing is re-sealed yet.
    t = await startWith({ SECRETS_KEY: newKey, SECRETS_KEY_PREVIOUS: oldKey });
    expect((await t.app.get(TargetsService).openSecrets(target.id)).secret).toBe(SECRET);
    await t.close({ keepDatabase: true });
    t = undefined;

    // `npm run rotate-secrets`, as an operator runs it.
    const rotate = rotateSecrets({ DATABASE_URL: db.url, SECRETS_KEY: newKey, SECRETS_KEY_PREVIOUS: oldKey });
    expect(rotate.status).toBe(0);
    expect(rotate.stdout).toContain('targets.secret_enc: 1 re-sealed');
    expect(rotate.stdout).toContain('targets.embedding_secret_enc: 1 re-sealed');
    expect(rotate.stdout).toContain('2 value(s) re-sealed under SECRETS_KEY');

    const ds: DataSource = createDataSource(db.url, 2);
    await ds.initialize();
    try {
      // Idempotent: a second run finds nothing sealed under the old key.
      const box = new SecretBox(Buffer.from(newKey, 'hex'), Buffer.from(oldKey, 'hex'));
      expect((await resealAll(ds, box)).total).toBe(0);
    } finally {
      await ds.destroy();
    }

    // The old key is no longer needed, and no longer accepted.
    t = await startWith({ SECRETS_KEY: newKey });
    expect(await t.app.get(TargetsService).openSecrets(target.id)).toEqual({ secret: SECRET, embeddingSecret: `${SECRET}-embed` });
    await t.close({ keepDatabase: true });
    t = undefined;
    expect((await startError({ SECRETS_KEY: oldKey }))?.message).toMatch(/^SECRETS_KEY is not the key/);
  });

  it('rotate-secrets stops, changing nothing, at a value neither key opens', async () => {
    const other = await createDatabase();
    try {
      const app = await createTestApp({ database: other, env: { SECRETS_KEY: oldKey } });
      const target = await makeTarget(app, { kind: 'metabase', baseUrl: 'https://mb.example.com', secret: SECRET });
      const before = await app.ds.query(`SELECT secret_enc FROM targets WHERE id = $1`, [target.id]);
      await app.close({ keepDatabase: true });
      const third = randomBytes(32).toString('hex');
      const rotate = rotateSecrets({ DATABASE_URL: other.url, SECRETS_KEY: third, SECRETS_KEY_PREVIOUS: newKey });
      expect(rotate.status).toBe(1);
      expect(rotate.stderr).toContain(`targets.secret_enc of id=${target.id} opens under neither SECRETS_KEY nor SECRETS_KEY_PREVIOUS: nothing was changed`);
      const ds = createDataSource(other.url, 1);
      await ds.initialize();
      expect(await ds.query(`SELECT secret_enc FROM targets WHERE id = $1`, [target.id])).toEqual(before);
      await ds.destroy();
    } finally {
      await dropDatabase(other.name);
    }
  });

  it('a database from before the check (secrets stored, no check value) refuses a key that does not open them', async () => {
    const other = await createDatabase();
    try {
      const app = await createTestApp({ database: other, env: { SECRETS_KEY: oldKey } });
      await makeTarget(app, { kind: 'metabase', baseUrl: 'https://mb.example.com', secret: SECRET });
      await app.ds.query(`DELETE FROM secrets_check`);
      await app.close({ keepDatabase: true });
      const failed = await createTestApp({ database: other, env: { SECRETS_KEY: newKey } }).then(async (a) => { await a.close({ keepDatabase: true }); return undefined; }, (e: Error) => e);
      expect(failed?.message).toMatch(/does not open the secrets already stored \(targets\.secret_enc\)/);
    } finally {
      await dropDatabase(other.name);
    }
  });

  it('every entity column named *_enc is in the sealed-column registry (so rotation re-seals it)', async () => {
    const app = await createTestApp();
    try {
      const encrypted = app.ds.entityMetadatas.flatMap((m) => m.columns.filter((c) => c.databaseName.endsWith('_enc')).map((c) => `${m.tableName}.${c.databaseName}`));
      expect(encrypted.length).toBeGreaterThan(0);
      const registered = sealedColumns().map((c) => `${c.table}.${c.column}`);
      expect(encrypted.filter((c) => !registered.includes(c))).toEqual([]);
    } finally {
      await app.close();
    }
  });
});
