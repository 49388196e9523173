import { Injectable } from '@nestjs/common';
import { createSecretKey, KeyObject } from 'node:crypto';
import { SecretBox } from '../../crypto/secret-box';

/** The AES-GCM additional data a hand-off secret is sealed under: it opens only in its own row. */
export const handoffSecretContext = (tenantId: string, secretId: string) => `handoff:${tenantId}:${secretId}`;

/**
 * Hand-off verification keys, opened once and kept as KeyObjects (opening a sealed value is an
 * AES-GCM decryption: not something to redo on every hand-off). An entry is valid while
 * its sealed value is the one the database holds (every write seals with a fresh IV).
 */
@Injectable()
export class HandoffKeys {
  private readonly cache = new Map<string, { sealed: string; key: KeyObject }>();

  constructor(private readonly box: SecretBox) {}

  keyFor(tenantId: string, secretId: string, sealed: string): KeyObject {
    const hit = this.cache.get(secretId);
    if (hit && hit.sealed === sealed) return hit.key;
    const key = createSecretKey(Buffer.from(this.box.open(sealed, handoffSecretContext(tenantId, secretId)), 'utf8'));
    this.cache.set(secretId, { sealed, key });
    return key;
  }

  forget(secretId: string): void {
    this.cache.delete(secretId);
  }
}
