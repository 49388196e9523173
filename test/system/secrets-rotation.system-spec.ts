import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { SecretBox } from '../../src/crypto/secret-box';
import { sealedColumns } from '../../src/crypto/sealed-columns';
import { resealAll } from '../../src/crypto/secrets-check';
import { createDataSource } from '../../src/database/data-source';
import { TARGET_DEFINITIONS } from '../../src/products';
import { targetSecretContext } from '../../src/catalog/target-secrets';
import { targetKeyContext } from '../../src/catalog/target-signing-key.entity';
import { makeApiKey, makeTarget } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { openTargetSecrets } from '../support/targets';
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
    // A key-pair target: its private signing key is a sealed value too.
    const adminKey = await makeApiKey(t.ds, null);
    const grafana = await request(t.http).post('/api/v1/targets').set('Authorization', `Bearer ${adminKey}`).send({ slug: 'rotation-grafana', kind: 'grafana', baseUrl: 'https://grafana.example.com' }).expect(201);
    const [{ kid, private_key_enc: sealedKey }] = await t.ds.query(`SELECT kid, private_key_enc FROM target_signing_keys WHERE target_id = $1`, [grafana.body.id]);
    const privatePem = new SecretBox(Buffer.from(oldKey, 'hex')).open(sealedKey, targetKeyContext(grafana.body.id, kid));
    await t.close({ keepDatabase: true });
    t = undefined;

    const wrong = await startError({ SECRETS_KEY: newKey });
    expect(wrong?.message).toMatch(/^SECRETS_KEY is not the key this database's secrets were sealed with/);
    expect(wrong?.message).toContain('SECRETS_KEY_PREVIOUS');
    expect(wrong?.message).not.toContain(newKey);

    // During the rotation both keys open; nothing is re-sealed yet.
    t = await startWith({ SECRETS_KEY: newKey, SECRETS_KEY_PREVIOUS: oldKey });
    expect((await openTargetSecrets(t, target.id)).secret).toBe(SECRET);
    await t.close({ keepDatabase: true });
    t = undefined;

    // `npm run rotate-secrets`, as an operator runs it.
    const rotate = rotateSecrets({ DATABASE_URL: db.url, SECRETS_KEY: newKey, SECRETS_KEY_PREVIOUS: oldKey });
    expect(rotate.status).toBe(0);
    // Every value in the targets.secrets map is sealed, and each is re-sealed.
    expect(rotate.stdout).toContain('targets.secrets: 2 re-sealed');
    expect(rotate.stdout).toContain('target_signing_keys.private_key_enc: 1 re-sealed');
    expect(rotate.stdout).toContain('3 value(s) re-sealed under SECRETS_KEY');

    const ds: DataSource = createDataSource(db.url, 2);
    await ds.initialize();
    try {
      // Idempotent: a second run finds nothing sealed under the old key.
      const box = new SecretBox(Buffer.from(newKey, 'hex'), Buffer.from(oldKey, 'hex'));
      expect((await resealAll(ds, box)).total).toBe(0);
      // Re-sealed under the new key alone, each under its own name's context.
      const [{ secrets }] = await ds.query(`SELECT secrets FROM targets WHERE id = $1`, [target.id]);
      const onlyNew = new SecretBox(Buffer.from(newKey, 'hex'));
      expect(onlyNew.open(secrets.secret, targetSecretContext(target.id, 'secret'))).toBe(SECRET);
      expect(onlyNew.open(secrets.embeddingSecret, targetSecretContext(target.id, 'embeddingSecret'))).toBe(`${SECRET}-embed`);
      const [{ private_key_enc: resealedKey }] = await ds.query(`SELECT private_key_enc FROM target_signing_keys WHERE kid = $1`, [kid]);
      expect(onlyNew.open(resealedKey, targetKeyContext(grafana.body.id, kid))).toBe(privatePem);
    } finally {
      await ds.destroy();
    }

    // The old key is no longer needed, and no longer accepted.
    t = await startWith({ SECRETS_KEY: newKey });
    expect(await openTargetSecrets(t, target.id)).toEqual({ secret: SECRET, embeddingSecret: `${SECRET}-embed` });
    await t.close({ keepDatabase: true });
    t = undefined;
    expect((await startError({ SECRETS_KEY: oldKey }))?.message).toMatch(/^SECRETS_KEY is not the key/);
  });

  it('rotate-secrets stops, changing nothing, at a value neither key opens', async () => {
    const other = await createDatabase();
    try {
      const app = await createTestApp({ database: other, env: { SECRETS_KEY: oldKey } });
      const target = await makeTarget(app, { kind: 'metabase', baseUrl: 'https://mb.example.com', secret: SECRET });
      const before = await app.ds.query(`SELECT secrets FROM targets WHERE id = $1`, [target.id]);
      await app.close({ keepDatabase: true });
      const third = randomBytes(32).toString('hex');
      const rotate = rotateSecrets({ DATABASE_URL: other.url, SECRETS_KEY: third, SECRETS_KEY_PREVIOUS: newKey });
      expect(rotate.status).toBe(1);
      expect(rotate.stderr).toContain(`targets.secrets["secret"] of id=${target.id} opens under neither SECRETS_KEY nor SECRETS_KEY_PREVIOUS: nothing was changed`);
      const ds = createDataSource(other.url, 1);
      await ds.initialize();
      expect(await ds.query(`SELECT secrets FROM targets WHERE id = $1`, [target.id])).toEqual(before);
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
      expect(failed?.message).toMatch(/does not open the secrets already stored \(targets\.secrets\)/);
    } finally {
      await dropDatabase(other.name);
    }
  });

  it('every column holding sealed values is in the registry (so the check probes it and rotation re-seals it)', async () => {
    const app = await createTestApp();
    try {
      const registered = sealedColumns().map((c) => `${c.table}.${c.column}`);
      // Registered columns exist, with the type their shape needs (a stale entry would fail the start).
      for (const c of sealedColumns()) {
        const column = app.ds.entityMetadatas.find((m) => m.tableName === c.table)?.columns.find((col) => col.databaseName === c.column);
        expect([`${c.table}.${c.column}`, column?.type]).toEqual([`${c.table}.${c.column}`, c.shape === 'map' ? 'jsonb' : 'text']);
      }
      const named = app.ds.entityMetadatas.flatMap((m) => m.columns.filter((c) => c.databaseName.endsWith('_enc')).map((c) => `${m.tableName}.${c.databaseName}`));
      expect(named.filter((c) => !registered.includes(c))).toEqual([]);

      // Whatever a column is called: store every secret of every product through the admin
      // API, then look for sealed values (v1.<iv>.<tag>.<ciphertext>) in every text and jsonb
      // column of the database, at any depth of a jsonb document.
      const key = await makeApiKey(app.ds, null);
      for (const def of TARGET_DEFINITIONS) {
        const secrets = Object.fromEntries(def.secrets.map((s) => [s.name, `${def.kind}-${s.name}-${randomBytes(24).toString('hex')}`]));
        await request(app.http).post('/api/v1/targets').set('Authorization', `Bearer ${key}`)
          .send({ slug: `sealed-${def.kind}`, kind: def.kind, baseUrl: def.examples.baseUrl, secrets, settings: def.examples.settings }).expect(201);
      }
      const sealedPattern = '^v1[.][A-Za-z0-9_-]{16}[.][A-Za-z0-9_-]{22}[.][A-Za-z0-9_-]*$';
      const columns: { table_name: string; column_name: string; data_type: string }[] = await app.ds.query(
        `SELECT table_name, column_name, data_type FROM information_schema.columns
          WHERE table_schema = 'public' AND data_type IN ('text', 'character varying', 'jsonb')`,
      );
      const holding: string[] = [];
      for (const { table_name, column_name, data_type } of columns) {
        const test = data_type === 'jsonb'
          ? `jsonb_path_exists("${column_name}", 'strict $.** ? (@.type() == "string" && @ like_regex "${sealedPattern}")')`
          : `"${column_name}" ~ '${sealedPattern}'`;
        const [{ found }] = await app.ds.query(`SELECT EXISTS (SELECT 1 FROM "${table_name}" WHERE ${test}) AS found`);
        if (found) holding.push(`${table_name}.${column_name}`);
      }
      expect(holding).toContain('targets.secrets');
      // The check value is the key check itself (re-sealed by rotate-secrets on its own).
      expect(holding.filter((c) => c !== 'secrets_check.sealed' && !registered.includes(c))).toEqual([]);
    } finally {
      await app.close();
    }
  });
});
