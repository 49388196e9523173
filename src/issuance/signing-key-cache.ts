import { Injectable } from '@nestjs/common';
import type { CryptoKey } from 'jose';
import { webcrypto } from 'node:crypto';
import { SecretBox } from '../crypto/secret-box';
import { targetSecretContext } from '../catalog/target-secrets';

/**
 * A target's secrets, opened once and kept: HMAC signing keys as imported CryptoKeys (jose
 * signs with WebCrypto; handing it the raw bytes would import a key on every token), and
 * plain values for a broker's calls.
 *
 * An entry is valid while the sealed value it was made from is the one the database holds.
 * Every write of a secret seals it afresh (new random IV), so a changed secret never matches
 * a cached entry, in this process or any other, without relying on every writer bumping
 * updated_at. Keys are the secret string's UTF-8 bytes (the product's contract: "not hex-decoded").
 */
@Injectable()
export class SigningKeyCache {
  private readonly cache = new Map<string, { sealed: string; key: Promise<CryptoKey>; plain: string }>();

  constructor(private readonly box: SecretBox) {}

  /** The HS256 key for a target's named secret, or null when none is set. */
  keyFor(targetId: string, name: string, sealed: string | null | undefined): Promise<CryptoKey> | null {
    return this.entry(targetId, name, sealed)?.key ?? null;
  }

  /** The opened value of a target's named secret, or null. Never log or return it. */
  plainFor(targetId: string, name: string, sealed: string | null | undefined): string | null {
    return this.entry(targetId, name, sealed)?.plain ?? null;
  }

  private entry(targetId: string, name: string, sealed: string | null | undefined) {
    if (!sealed) return null;
    const id = `${targetId}:${name}`;
    const hit = this.cache.get(id);
    if (hit && hit.sealed === sealed) return hit;
    const plain = this.box.open(sealed, targetSecretContext(targetId, name));
    const key = webcrypto.subtle.importKey('raw', Buffer.from(plain, 'utf8'), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']) as Promise<CryptoKey>;
    const entry = { sealed, key, plain };
    this.cache.set(id, entry);
    return entry;
  }
}
