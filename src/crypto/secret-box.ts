import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM for secrets at rest (target secrets). Format: "v1.<iv>.<tag>.<ciphertext>",
 * base64url parts. A fresh 96-bit IV per encryption (NIST SP 800-38D); the tag authenticates,
 * so a tampered value or the wrong SECRETS_KEY fails loudly instead of decrypting to junk.
 * `context` is bound as additional authenticated data, so a ciphertext copied to another
 * row or column does not decrypt there.
 *
 * During a key rotation the previous key (SECRETS_KEY_PREVIOUS) still opens what was sealed
 * before; everything is sealed under the current key (`npm run rotate-secrets` re-seals).
 */
export class SecretBox {
  private readonly previous?: Buffer;

  constructor(
    private readonly key: Buffer,
    previous?: Buffer,
  ) {
    if (key.length !== 32) throw new Error('SecretBox needs a 32-byte key');
    if (previous && previous.length !== 32) throw new Error('SecretBox needs a 32-byte previous key');
    this.previous = previous;
  }

  seal(plaintext: string, context: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
  }

  open(sealed: string, context: string): string {
    return this.openWithKey(sealed, context).plaintext;
  }

  /** Opens and says which key did it: 'previous' means the value still needs re-sealing. */
  openWithKey(sealed: string, context: string): { plaintext: string; key: 'current' | 'previous' } {
    try {
      return { plaintext: openWith(this.key, sealed, context), key: 'current' };
    } catch (err) {
      if (!this.previous || (err as Error).message === 'not a sealed secret') throw err;
      return { plaintext: openWith(this.previous, sealed, context), key: 'previous' };
    }
  }
}

function openWith(key: Buffer, sealed: string, context: string): string {
  const [v, iv, tag, ct] = sealed.split('.');
  if (v !== 'v1' || !iv || !tag || ct === undefined) throw new Error('not a sealed secret');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
}
