import { notFound } from '../../src/common/errors';
import { SsoError } from '../../src/catalog/sso.errors';
import { SecretBox } from '../../src/crypto/secret-box';
import { targetSecretContext } from '../../src/catalog/target-secrets';
import type { TestApp } from '../setup/app';

/**
 * A target's secrets by name, opened with the app's SecretBox under the contexts the admin
 * API seals them with: for specs that check what was stored (the API never returns a
 * secret). A target that does not exist: the same 404 target_not_found the admin API answers.
 */
export async function openTargetSecrets(t: TestApp, targetId: string): Promise<Record<string, string>> {
  const [row]: { secrets: Record<string, string> | null }[] = await t.ds.query(`SELECT secrets FROM targets WHERE id = $1`, [targetId]);
  if (!row) throw notFound(SsoError.TargetNotFound);
  const box = t.app.get(SecretBox);
  return Object.fromEntries(Object.entries(row.secrets ?? {}).map(([name, sealed]) => [name, box.open(sealed, targetSecretContext(targetId, name))]));
}
