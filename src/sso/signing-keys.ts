import { Injectable } from '@nestjs/common';
import { createSecretKey, KeyObject } from 'node:crypto';
import { SecretBox } from '../crypto/secret-box';

export type SecretColumn = 'secret' | 'embedding_secret';

/**
 * The AES-GCM additional data a target's secrets are sealed under (see SecretBox): a sealed
 * value copied to another target or column does not open there. The one definition, for the
 * admin API that seals, this cache that opens, and test/factories.ts.
 */
export const targetSecretContext = (targetId: string, column: SecretColumn) => `target:${targetId}:${column}`;

/**
 * Signing keys per target, opened once and kept as KeyObjects: jsonwebtoken.sign with a
 * string secret rebuilds the key on every call (~2,000 signs/s here), with a KeyObject made
 * once it manages ~78,000/s (STYLE.md, "The hot path").
 *
 * An entry is valid while the sealed value it was made from is the one the database holds.
 * Every write of a secret seals it afresh (new random IV), so a changed secret never matches
 * a cached entry, in this process or any other, without relying on every writer bumping
 * updated_at. Keys are the secret string's UTF-8 bytes (CONTRACTS: "not hex-decoded").
 */
@Injectable()
export class SigningKeys {
  private readonly cache = new Map<string, { sealed: string; key: KeyObject }>();

  constructor(private readonly box: SecretBox) {}

  /** The key for a target's secret column, or null when none is set. */
  keyFor(targetId: string, column: SecretColumn, sealed: string | null): KeyObject | null {
    if (!sealed) return null;
    const id = `${targetId}:${column}`;
    const hit = this.cache.get(id);
    if (hit && hit.sealed === sealed) return hit.key;
    const key = createSecretKey(Buffer.from(this.box.open(sealed, targetSecretContext(targetId, column)), 'utf8'));
    this.cache.set(id, { sealed, key });
    return key;
  }
}
