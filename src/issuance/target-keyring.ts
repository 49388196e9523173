import { Injectable } from '@nestjs/common';
import { importPKCS8, type CryptoKey } from 'jose';
import { keyringRefreshMs, keyState, SealedSigningKey, TargetKeysService } from '../catalog/target-keys';
import { InjectConfig } from '../config/config.module';
import { Config } from '../config/configuration';

interface Ring {
  loadedAt: number;
  keys: Promise<SealedSigningKey[]>;
}

/**
 * The signing key pairs of key-pair targets, per process: read from the catalog at most once
 * per refresh interval per target (never a database round trip per handshake), private keys
 * opened and imported once per kid. Which key signs is decided at each handshake from the
 * keys' timestamps: a rotation's new key takes over at its `signs_from` in every process,
 * and the refresh interval (well under the publication delay) makes sure each has read it.
 */
@Injectable()
export class TargetKeyring {
  private readonly rings = new Map<string, Ring>();
  private readonly imported = new Map<string, Promise<CryptoKey>>();
  private readonly refreshMs: number;

  constructor(
    private readonly keys: TargetKeysService,
    @InjectConfig('tokens') tokens: Config<'tokens'>,
  ) {
    this.refreshMs = keyringRefreshMs(tokens.signingKeyPublicationDelaySeconds);
  }

  /** The key that signs for this target now, or null when it has none (a configuration error). */
  async signingKey(targetId: string, now = Date.now()): Promise<{ kid: string; alg: SealedSigningKey['alg']; key: CryptoKey } | null> {
    let ring = this.rings.get(targetId);
    if (!ring || now - ring.loadedAt >= this.refreshMs) {
      ring = { loadedAt: now, keys: this.keys.sealedSigningKeys(targetId, now) };
      this.rings.set(targetId, ring);
      ring.keys.catch(() => this.rings.delete(targetId));
    }
    const active = (await ring.keys).filter((k) => keyState(k, now) === 'active').sort((a, b) => b.signsFrom.getTime() - a.signsFrom.getTime())[0];
    if (!active) return null;
    let key = this.imported.get(active.kid);
    if (!key) {
      key = importPKCS8(this.keys.openPrivateKey(active), active.alg);
      this.imported.set(active.kid, key);
      key.catch(() => this.imported.delete(active.kid));
    }
    return { kid: active.kid, alg: active.alg, key: await key };
  }

  /** After a rotation in this process: read the target's keys again at the next handshake. */
  forget(targetId: string): void {
    this.rings.delete(targetId);
  }
}
