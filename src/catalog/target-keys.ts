import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { calculateJwkThumbprint, exportJWK, exportPKCS8, exportSPKI, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { DataSource, EntityManager, Repository } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { conflict, notFound } from '../common/errors';
import type { RequestMeta } from '../common/request-meta';
import { InjectConfig } from '../config/config.module';
import { Config } from '../config/configuration';
import { SecretBox } from '../crypto/secret-box';
import { targetDefinition } from '../products';
import { keyPairSigningOf, type AsymmetricAlg } from '../products/product-definition';
import { SsoError } from './sso.errors';
import { Target } from './target.entity';
import { TargetSigningKey, targetKeyContext } from './target-signing-key.entity';

/**
 * Where a key is in its life (computed from its timestamps, so no job has to move it on):
 * - `next`: published in the JWKS, not signing yet (verifiers caching the JWKS pick it up);
 * - `active`: signing (and published);
 * - `retiring`: a newer key signs; still published until every token it signed has expired;
 * - `retired`: no longer published (its row is deleted at the next rotation).
 */
export type KeyState = 'next' | 'active' | 'retiring' | 'retired';

export interface KeyTimes {
  createdAt: Date;
  signsFrom: Date;
  supersededAt: Date | null;
  unpublishAt: Date | null;
}

export function keyState(k: KeyTimes, now: number): KeyState {
  if (k.unpublishAt && now >= k.unpublishAt.getTime()) return 'retired';
  if (k.supersededAt && now >= k.supersededAt.getTime()) return 'retiring';
  if (now >= k.signsFrom.getTime()) return 'active';
  return 'next';
}

/** Published: in the JWKS (every state but retired). */
export const isPublished = (k: KeyTimes, now: number) => keyState(k, now) !== 'retired';

/**
 * How long a process may sign from its cached view of a target's keys (issuance's keyring):
 * at most 30 s, and well inside the publication delay, so a rotation made by another
 * process is seen long before its key starts signing.
 */
export function keyringRefreshMs(publicationDelaySeconds: number): number {
  return Math.max(100, Math.min(30_000, (publicationDelaySeconds * 1000) / 4));
}

/** Clock skew a verifier may allow on exp (RFC 7519 §4.1.4 leaves it to them; 60 s is common). */
const EXP_LEEWAY_MS = 60_000;

export interface KeyView {
  kid: string;
  alg: string;
  state: KeyState;
  createdAt: Date;
  signsFrom: Date;
  supersededAt: Date | null;
  unpublishAt: Date | null;
  /** The public key as SPKI PEM, for products that take a pasted key. */
  publicKeyPem: string;
}

/** A key with its sealed private half, for the signing keyring only (never returned by an API). */
export interface SealedSigningKey extends KeyTimes {
  kid: string;
  alg: AsymmetricAlg;
  targetId: string;
  sealed: string;
}

/**
 * Signing key pairs of targets whose product verifies our tokens with a public key. Private
 * keys are generated here and sealed at once (SECRETS_KEY, registered for rotate-secrets);
 * only the public halves leave (JWKS, PEM).
 */
@Injectable()
export class TargetKeysService {
  private readonly delayMs: number;
  private readonly refreshMs: number;

  constructor(
    @InjectRepository(TargetSigningKey) private readonly repo: Repository<TargetSigningKey>,
    private readonly dataSource: DataSource,
    private readonly box: SecretBox,
    private readonly audit: AuditService,
    @InjectConfig('tokens') tokens: Config<'tokens'>,
  ) {
    this.delayMs = tokens.signingKeyPublicationDelaySeconds * 1000;
    this.refreshMs = keyringRefreshMs(tokens.signingKeyPublicationDelaySeconds);
  }

  /**
   * The first key of a new key-pair target: it signs at once (no verifier can have cached a
   * JWKS without it: the product is configured with our JWKS after the target exists).
   */
  async createFirst(m: EntityManager, targetId: string, alg: AsymmetricAlg, now = Date.now()): Promise<string> {
    return this.insertKey(m, targetId, alg, new Date(now), new Date(now));
  }

  /** The target's keys, newest first, with their states and public PEMs. */
  async list(targetId: string, now = Date.now()): Promise<KeyView[]> {
    const rows = await this.repo.find({ where: { targetId }, order: { createdAt: 'DESC', kid: 'ASC' } });
    return Promise.all(rows.map((r) => toView(r, now)));
  }

  /**
   * A new key, published now and signing after the publication delay; the signing key(s)
   * stop then and stay published until the last token they sign has expired (the product's
   * lifetime for this target, plus leeway for clock skew and for processes still signing
   * from a cached view). One rotation at a time: while a key waits to sign, another is a 409.
   */
  async rotate(meta: RequestMeta, targetId: string, now = Date.now()): Promise<KeyView> {
    const kid = await this.dataSource.transaction(async (m) => {
      const target = await m.getRepository(Target).findOne({ where: { id: targetId }, lock: { mode: 'pessimistic_write' } });
      if (!target) throw notFound(SsoError.TargetNotFound);
      const def = targetDefinition(target.kind);
      const signing = def && keyPairSigningOf(def);
      if (!def || !signing) throw conflict(SsoError.TargetNotKeyPair, `Target ${target.slug} signs with a shared secret, not a key pair: there is no key to rotate`);
      const keys = await m.getRepository(TargetSigningKey).find({ where: { targetId } });
      const pending = keys.find((k) => keyState(k, now) === 'next');
      if (pending) {
        throw conflict(SsoError.KeyRotationPending, `A rotation is under way: key ${pending.kid} starts signing at ${pending.signsFrom.toISOString()}; rotate again after that`, { kid: pending.kid, signsFrom: pending.signsFrom.toISOString() });
      }
      const retired = keys.filter((k) => keyState(k, now) === 'retired').map((k) => k.kid);
      if (retired.length) await m.getRepository(TargetSigningKey).delete(retired);
      const signsFrom = new Date(now + this.delayMs);
      const ttlMs = Math.max(def.sso?.ttlSeconds(target.settings) ?? 0, def.embed?.ttlSeconds(target.settings) ?? 0, def.token?.ttlSeconds(target.settings) ?? 0) * 1000;
      const unpublishAt = new Date(signsFrom.getTime() + ttlMs + EXP_LEEWAY_MS + this.refreshMs);
      for (const k of keys.filter((x) => !x.supersededAt && !retired.includes(x.kid))) {
        await m.getRepository(TargetSigningKey).update({ kid: k.kid }, { supersededAt: signsFrom, unpublishAt });
      }
      const alg = signing.keyPair(target.settings);
      const created = await this.insertKey(m, targetId, alg, new Date(now), signsFrom);
      await this.audit.record(meta, { type: 'target.key_rotated', tenantId: null, details: { targetId, slug: target.slug, kid: created, alg, signsFrom: signsFrom.toISOString(), retiring: keys.filter((x) => !x.supersededAt).map((x) => x.kid) } }, m);
      return created;
    });
    const row = await this.repo.findOneByOrFail({ kid });
    return toView(row, now);
  }

  /** Every published key of every target (the service-wide JWKS), by kid. */
  async publishedJwks(now = Date.now()): Promise<JWK[]> {
    const rows = await this.repo.find({ order: { createdAt: 'ASC', kid: 'ASC' } });
    return rows.filter((r) => isPublished(r, now)).map(jwkOf);
  }

  /** The published keys of one target (its own JWKS). */
  async targetJwks(targetId: string, now = Date.now()): Promise<JWK[]> {
    const rows = await this.repo.find({ where: { targetId }, order: { createdAt: 'ASC', kid: 'ASC' } });
    return rows.filter((r) => isPublished(r, now)).map(jwkOf);
  }

  /** The target's keys that may still sign, with their sealed private halves (issuance's keyring). */
  async sealedSigningKeys(targetId: string, now = Date.now()): Promise<SealedSigningKey[]> {
    const rows = await this.repo
      .createQueryBuilder('k')
      .addSelect('k.privateKeyEnc')
      .where('k.targetId = :targetId', { targetId })
      .getMany();
    return rows
      .filter((r) => isPublished(r, now))
      .map((r) => ({ kid: r.kid, alg: r.alg as AsymmetricAlg, targetId: r.targetId, sealed: r.privateKeyEnc, createdAt: r.createdAt, signsFrom: r.signsFrom, supersededAt: r.supersededAt, unpublishAt: r.unpublishAt }));
  }

  /** The opened PKCS#8 PEM of a sealed key. Never log or return it. */
  openPrivateKey(k: SealedSigningKey): string {
    return this.box.open(k.sealed, targetKeyContext(k.targetId, k.kid));
  }

  private async insertKey(m: EntityManager, targetId: string, alg: AsymmetricAlg, createdAt: Date, signsFrom: Date): Promise<string> {
    // RSA 2048 (RFC 7518 §3.3: at least 2048 bits); ES256 is P-256 (§3.4).
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
    const jwk = await exportJWK(publicKey);
    // RFC 7638 thumbprint: a kid that names this exact public key, whatever target it serves.
    const kid = await calculateJwkThumbprint(jwk, 'sha256');
    const pem = await exportPKCS8(privateKey);
    await m.getRepository(TargetSigningKey).insert({
      kid,
      targetId,
      alg,
      publicJwk: { ...(jwk as Record<string, string>), kid, alg, use: 'sig' },
      privateKeyEnc: this.box.seal(pem, targetKeyContext(targetId, kid)),
      createdAt,
      signsFrom,
      supersededAt: null,
      unpublishAt: null,
    });
    return kid;
  }
}

function jwkOf(r: TargetSigningKey): JWK {
  return { ...r.publicJwk };
}

async function toView(r: TargetSigningKey, now: number): Promise<KeyView> {
  const key = await importJWK({ ...r.publicJwk }, r.alg, { extractable: true });
  const publicKeyPem = await exportSPKI(key as CryptoKey);
  return { kid: r.kid, alg: r.alg, state: keyState(r, now), createdAt: r.createdAt, signsFrom: r.signsFrom, supersededAt: r.supersededAt, unpublishAt: r.unpublishAt, publicKeyPem };
}
