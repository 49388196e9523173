import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { registerSealedColumn } from '../crypto/sealed-columns';
import { Target } from './target.entity';

/** The AES-GCM additional data a private signing key is sealed under: it opens only in its own row. */
export const targetKeyContext = (targetId: string, kid: string) => `target-key:${targetId}:${kid}`;

/**
 * A key pair embed-idp generated for a target whose product verifies our tokens with a public
 * key (RS256 / ES256). Its life is in its timestamps (see target-keys.ts, `keyState`):
 * published from `created_at`, signs from `signs_from`, stops signing at `superseded_at`
 * (when the next key starts), published until `unpublish_at` (every token it signed expired).
 */
@Entity({ name: 'target_signing_keys' })
@Index('ix_target_signing_keys_target', ['targetId', 'createdAt'])
export class TargetSigningKey {
  /** The JWS `kid` (RFC 7515 §4.1.4): the RFC 7638 thumbprint of the public key. */
  @PrimaryColumn({ type: 'varchar', length: 64 })
  kid: string;

  @Column({ name: 'target_id', type: 'uuid' })
  targetId: string;

  @Column({ type: 'varchar', length: 10 })
  alg: string;

  /** The public key as a JWK (RFC 7517), as served in the JWKS. */
  @Column({ name: 'public_jwk', type: 'jsonb' })
  publicJwk: Record<string, string>;

  /** The PKCS#8 PEM private key, sealed (SecretBox, context `target-key:<target>:<kid>`). */
  @Column({ name: 'private_key_enc', type: 'text', select: false })
  privateKeyEnc: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'signs_from', type: 'timestamptz' })
  signsFrom: Date;

  @Column({ name: 'superseded_at', type: 'timestamptz', nullable: true })
  supersededAt: Date | null;

  @Column({ name: 'unpublish_at', type: 'timestamptz', nullable: true })
  unpublishAt: Date | null;

  @ManyToOne(() => Target, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'target_id', foreignKeyConstraintName: 'target_signing_keys_target_id_fkey' })
  target?: Target;
}

registerSealedColumn({
  table: 'target_signing_keys',
  keyColumns: ['kid', 'target_id'],
  column: 'private_key_enc',
  shape: 'value',
  context: (r) => targetKeyContext(r.target_id, r.kid),
});
