import { DataSource, EntityManager } from 'typeorm';
import { SecretBox } from './secret-box';
import { SealedColumn, sealedColumns, sealedValues, withValues } from './sealed-columns';

const CHECK_ID = 1;
const CHECK_CONTEXT = 'secrets_check:1';
const CHECK_PLAINTEXT = 'embed-idp SECRETS_KEY check value';

/** How to rotate, said wherever a key problem is reported. */
export const ROTATION_HOWTO =
  'To change the key: set SECRETS_KEY to the new key and SECRETS_KEY_PREVIOUS to the old one, start, ' +
  'then run `npm run rotate-secrets` (in the image: `node dist/src/crypto/rotate-secrets.js`) and remove SECRETS_KEY_PREVIOUS.';

export class SecretsKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretsKeyError';
  }
}

const wrongKey = (what: string) =>
  new SecretsKeyError(
    `SECRETS_KEY is not the key this database's secrets were sealed with: it does not open ${what}. ` +
      'Set SECRETS_KEY back to the key used before (outside production without SECRETS_KEY it is kept in DATA_DIR/secrets.key). ' +
      ROTATION_HOWTO,
  );

export type KeyState = 'created' | 'current' | 'previous';

/**
 * Run at every start, before anything opens a secret: the check value sealed at the first
 * start must open under SECRETS_KEY (or SECRETS_KEY_PREVIOUS during a rotation: 'previous').
 * On the first start the secrets already stored (a database from before this check) must
 * open too, so a wrong key is never written down as the right one.
 */
export async function verifySecretsKey(ds: DataSource, box: SecretBox): Promise<KeyState> {
  const existing = await readCheck(ds.manager);
  if (existing !== undefined) return openCheck(box, existing);
  for (const c of sealedColumns()) {
    const rows: Record<string, unknown>[] = await ds.query(
      `SELECT ${[...c.keyColumns, c.column].map(ident).join(', ')} FROM ${ident(c.table)} WHERE ${holdsValues(c)} LIMIT 1`,
    );
    for (const row of rows) {
      for (const v of sealedValues(c, row)) {
        try {
          box.open(v.sealed, v.context);
        } catch {
          throw wrongKey(`the secrets already stored (${c.table}.${c.column})`);
        }
      }
    }
  }
  await ds.query(`INSERT INTO secrets_check (id, sealed) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, [
    CHECK_ID,
    box.seal(CHECK_PLAINTEXT, CHECK_CONTEXT),
  ]);
  // Another process starting at the same time may have written its own: that one counts.
  const state = openCheck(box, (await readCheck(ds.manager))!);
  return state === 'current' ? 'created' : state;
}

/**
 * Re-seals every registered sealed value (and the check value) under the current key, in one
 * transaction: all or nothing. A value that opens under neither key stops it, naming where.
 * Afterwards SECRETS_KEY_PREVIOUS is no longer needed.
 */
export async function resealAll(ds: DataSource, box: SecretBox): Promise<{ resealed: Record<string, number>; total: number }> {
  return ds.transaction(async (m) => {
    const resealed: Record<string, number> = {};
    let total = 0;
    for (const c of sealedColumns()) {
      const keys = c.keyColumns.map(ident);
      const rows: Record<string, unknown>[] = await m.query(
        `SELECT ${[...keys, ident(c.column)].join(', ')} FROM ${ident(c.table)} WHERE ${holdsValues(c)} FOR UPDATE`,
      );
      let n = 0;
      for (const row of rows) {
        const replaced = new Map<string, string>();
        for (const v of sealedValues(c, row)) {
          let opened: ReturnType<SecretBox['openWithKey']>;
          try {
            opened = box.openWithKey(v.sealed, v.context);
          } catch {
            throw new SecretsKeyError(`${v.where} opens under neither SECRETS_KEY nor SECRETS_KEY_PREVIOUS: nothing was changed`);
          }
          if (opened.key === 'previous') replaced.set(v.name, box.seal(opened.plaintext, v.context));
        }
        if (!replaced.size) continue;
        const where = keys.map((k, i) => `${k} = $${i + 2}`).join(' AND ');
        const value = c.shape === 'map' ? '$1::jsonb' : '$1';
        await m.query(`UPDATE ${ident(c.table)} SET ${ident(c.column)} = ${value} WHERE ${where}`, [
          withValues(c, row, replaced),
          ...c.keyColumns.map((k) => row[k]),
        ]);
        n += replaced.size;
      }
      resealed[`${c.table}.${c.column}`] = n;
      total += n;
    }
    const check = await readCheck(m, true);
    if (check === undefined || openCheck(box, check) === 'previous') {
      await m.query(
        `INSERT INTO secrets_check (id, sealed) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET sealed = EXCLUDED.sealed`,
        [CHECK_ID, box.seal(CHECK_PLAINTEXT, CHECK_CONTEXT)],
      );
    }
    return { resealed, total };
  });
}

async function readCheck(m: EntityManager, lock = false): Promise<string | undefined> {
  const rows: { sealed: string }[] = await m.query(`SELECT sealed FROM secrets_check WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [CHECK_ID]);
  return rows[0]?.sealed;
}

function openCheck(box: SecretBox, sealed: string): 'current' | 'previous' {
  let opened: ReturnType<SecretBox['openWithKey']>;
  try {
    opened = box.openWithKey(sealed, CHECK_CONTEXT);
  } catch {
    throw wrongKey('the check value stored at the first start (table secrets_check)');
  }
  if (opened.plaintext !== CHECK_PLAINTEXT) throw wrongKey('the check value stored at the first start (table secrets_check)');
  return opened.key;
}

/** Rows with something sealed in the column: a map column's empty map holds nothing. */
function holdsValues(c: SealedColumn): string {
  const col = ident(c.column);
  return c.shape === 'map' ? `${col} IS NOT NULL AND ${col} <> '{}'::jsonb` : `${col} IS NOT NULL`;
}

/** Registered names are code, not input; quoting keeps them exactly as written. */
function ident(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain SQL identifier: ${name}`);
  return `"${name}"`;
}
