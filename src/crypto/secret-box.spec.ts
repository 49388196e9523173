import { randomBytes } from 'node:crypto';
import { SecretBox } from './secret-box';

describe('SecretBox', () => {
  const key = randomBytes(32);
  const box = new SecretBox(key);
  const context = 'target:3f1c2a9e-0000-4000-8000-000000000001:secret';

  it('round-trips, with a fresh IV each time', () => {
    const secret = 'metabase-jwt-secret-ünïcode-✓';
    const a = box.seal(secret, context);
    const b = box.seal(secret, context);
    expect(a).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain(secret);
    expect(box.open(a, context)).toBe(secret);
    expect(box.open(b, context)).toBe(secret);
    expect(box.open(box.seal('', context), context)).toBe('');
  });

  it('detects tampering with the ciphertext, the tag or the IV', () => {
    const sealed = box.seal('a secret worth protecting', context);
    const [v, iv, tag, ct] = sealed.split('.');
    const flip = (s: string) => {
      const buf = Buffer.from(s, 'base64url');
      buf[0] ^= 0x01;
      return buf.toString('base64url');
    };
    expect(() => box.open([v, iv, tag, flip(ct)].join('.'), context)).toThrow();
    expect(() => box.open([v, iv, flip(tag), ct].join('.'), context)).toThrow();
    expect(() => box.open([v, flip(iv), tag, ct].join('.'), context)).toThrow();
    expect(() => box.open([v, iv, tag.slice(0, 10), ct].join('.'), context)).toThrow();
    expect(() => box.open(['v2', iv, tag, ct].join('.'), context)).toThrow('not a sealed secret');
    expect(() => box.open('plaintext-secret', context)).toThrow('not a sealed secret');
  });

  it('fails under another context: a value copied to another row or column does not open', () => {
    const sealed = box.seal('embedding secret', context);
    expect(() => box.open(sealed, 'target:3f1c2a9e-0000-4000-8000-000000000001:embedding_secret')).toThrow();
    expect(() => box.open(sealed, 'target:3f1c2a9e-0000-4000-8000-000000000002:secret')).toThrow();
  });

  it('fails under another key (a wrong SECRETS_KEY fails loudly, never decrypts to junk)', () => {
    const sealed = box.seal('a secret', context);
    expect(() => new SecretBox(randomBytes(32)).open(sealed, context)).toThrow();
    expect(new SecretBox(Buffer.from(key)).open(sealed, context)).toBe('a secret');
  });

  it('needs a 32-byte key', () => {
    expect(() => new SecretBox(randomBytes(16))).toThrow('32-byte');
    expect(() => new SecretBox(Buffer.alloc(0))).toThrow('32-byte');
  });
});
