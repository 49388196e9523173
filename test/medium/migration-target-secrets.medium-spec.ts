import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { CreateSchema1763700000000 } from '../../migrations/1763700000000-CreateSchema';
import { AddUsersEmailIndex1763800000000 } from '../../migrations/1763800000000-AddUsersEmailIndex';
import { TargetSecretsMapAndKindAsText1764400000000 } from '../../migrations/1764400000000-TargetSecretsMapAndKindAsText';
import { SecretBox } from '../../src/crypto/secret-box';
import { targetSecretContext } from '../../src/catalog/target-secrets';
import { createDatabase, dropDatabase } from '../setup/test-db';

/**
 * The secrets moved from two columns into one map without SECRETS_KEY: values sealed under
 * the old columns' contexts must open under the new names, and the kind became plain text.
 */
describe('migration: target secrets as a map, kind as text', () => {
  let db: { name: string; url: string };
  let c: Client;
  const box = new SecretBox(randomBytes(32));
  // The migrations only call query(); a tiny QueryRunner stand-in runs them one by one.
  const runner = () => ({ query: (sql: string) => c.query(sql) }) as never;

  beforeAll(async () => {
    db = await createDatabase({ empty: true });
    c = new Client({ connectionString: db.url });
    await c.connect();
    await new CreateSchema1763700000000().up(runner());
    await new AddUsersEmailIndex1763800000000().up(runner());
  });
  afterAll(async () => {
    await c.end();
    await dropDatabase(db.name);
  });

  it('carries sealed secrets over under their names and drops the kind CHECK', async () => {
    const { rows: [mb] } = await c.query(`INSERT INTO targets (slug, kind, base_url) VALUES ('mb', 'metabase', 'https://mb.example.com') RETURNING id`);
    const { rows: [ss] } = await c.query(`INSERT INTO targets (slug, kind, base_url) VALUES ('ss', 'sisense', 'https://ss.example.com') RETURNING id`);
    await c.query(`UPDATE targets SET secret_enc = $2, embedding_secret_enc = $3 WHERE id = $1`, [
      mb.id,
      box.seal('metabase-jwt-secret', `target:${mb.id}:secret`),
      box.seal('metabase-embedding-secret', `target:${mb.id}:embedding_secret`),
    ]);
    await c.query(`UPDATE targets SET secret_enc = $2 WHERE id = $1`, [ss.id, box.seal('sisense-secret', `target:${ss.id}:secret`)]);
    await expect(c.query(`INSERT INTO targets (slug, kind, base_url) VALUES ('x', 'tableau', 'https://x.example.com')`)).rejects.toThrow(/ck_targets_kind/);

    await new TargetSecretsMapAndKindAsText1764400000000().up(runner());

    const { rows } = await c.query(`SELECT id, secrets FROM targets ORDER BY slug`);
    const [m, s] = rows;
    expect(Object.keys(m.secrets).sort()).toEqual(['embeddingSecret', 'secret']);
    expect(box.open(m.secrets.secret, targetSecretContext(mb.id, 'secret'))).toBe('metabase-jwt-secret');
    expect(box.open(m.secrets.embeddingSecret, targetSecretContext(mb.id, 'embeddingSecret'))).toBe('metabase-embedding-secret');
    expect(Object.keys(s.secrets)).toEqual(['secret']);
    expect(box.open(s.secrets.secret, targetSecretContext(ss.id, 'secret'))).toBe('sisense-secret');
    // A new product's kind needs no migration now (the application checks kinds).
    await c.query(`INSERT INTO targets (slug, kind, base_url) VALUES ('x', 'tableau', 'https://x.example.com')`);
  });

  it('undoes cleanly', async () => {
    await c.query(`DELETE FROM targets WHERE kind = 'tableau'`);
    await new TargetSecretsMapAndKindAsText1764400000000().down(runner());
    const { rows } = await c.query(`SELECT secret_enc, embedding_secret_enc FROM targets WHERE slug = 'mb'`);
    expect(rows[0].secret_enc).toMatch(/^v1\./);
    expect(rows[0].embedding_secret_enc).toMatch(/^v1\./);
  });
});
