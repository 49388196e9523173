import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { registerSealedColumn } from '../crypto/sealed-columns';
import { Tenant } from '../tenants/tenant.entity';
import { User } from '../users/user.entity';

/** The AES-GCM context of a user's TOTP secret: a sealed value copied to another row does not open. */
export function totpSecretContext(userId: string): string {
  return `mfa-totp:${userId}`;
}

/**
 * A user's TOTP authenticator (RFC 6238). `confirmedAt` null: set up but not yet proven with a
 * code, so it is not a second factor. `lastStep`: the newest time step accepted, so each code is
 * accepted once (RFC 6238 §5.2: "the verifier MUST NOT accept the second attempt of the OTP
 * after the successful validation has been issued for the first OTP").
 */
@Entity({ name: 'mfa_totp' })
@Index('ix_mfa_totp_tenant', ['tenantId'])
export class MfaTotp {
  @PrimaryColumn({ name: 'user_id', type: 'uuid' })
  userId: string;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId: string;

  @Column({ name: 'secret_enc', type: 'text' })
  secretEnc: string;

  @Column({ name: 'confirmed_at', type: 'timestamptz', nullable: true })
  confirmedAt: Date | null;

  @Column({ name: 'last_step', type: 'bigint', nullable: true })
  lastStep: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @ManyToOne(() => User, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'mfa_totp_user_id_fkey' })
  user?: User;

  @ManyToOne(() => Tenant, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'mfa_totp_tenant_id_fkey' })
  tenant?: Tenant;
}

registerSealedColumn({ table: 'mfa_totp', keyColumns: ['user_id'], column: 'secret_enc', shape: 'value', context: (r) => totpSecretContext(r.user_id) });

/** A passkey or security key (WebAuthn Level 2 credential record), by its credential id (base64url). */
@Entity({ name: 'mfa_webauthn_credentials' })
@Index('ix_mfa_webauthn_credentials_user', ['userId'])
@Index('ix_mfa_webauthn_credentials_tenant', ['tenantId'])
export class MfaWebauthnCredential {
  @PrimaryColumn({ type: 'varchar', length: 1400 })
  id: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId: string;

  /** COSE public key: public, so not sealed. */
  @Column({ name: 'public_key', type: 'bytea' })
  publicKey: Buffer;

  @Column({ type: 'bigint', default: 0 })
  counter: string;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  transports: string[];

  @Column({ type: 'varchar', length: 100 })
  name: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'last_used_at', type: 'timestamptz', nullable: true })
  lastUsedAt: Date | null;

  @ManyToOne(() => User, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'mfa_webauthn_credentials_user_id_fkey' })
  user?: User;

  @ManyToOne(() => Tenant, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'mfa_webauthn_credentials_tenant_id_fkey' })
  tenant?: Tenant;
}

/** One recovery code: only its SHA-256 (the code carries 80 random bits), used at most once. */
@Entity({ name: 'mfa_recovery_codes' })
@Index('ix_mfa_recovery_codes_tenant', ['tenantId'])
export class MfaRecoveryCode {
  @PrimaryColumn({ name: 'user_id', type: 'uuid' })
  userId: string;

  @PrimaryColumn({ name: 'code_hash', type: 'char', length: 64 })
  codeHash: string;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'used_at', type: 'timestamptz', nullable: true })
  usedAt: Date | null;

  @ManyToOne(() => User, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'mfa_recovery_codes_user_id_fkey' })
  user?: User;

  @ManyToOne(() => Tenant, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'mfa_recovery_codes_tenant_id_fkey' })
  tenant?: Tenant;
}

/**
 * A sign-in whose password was right and whose second step is still to come (`verify`) or
 * whose tenant requires a factor the user has not set up yet (`enrol`). Deliberately NOT a
 * session: nothing that reads sessions (SSO, embeds, brokers, the console) can mistake it for
 * one, on this release or an older one still running beside it. The cookie holds a random
 * token; only its SHA-256 is stored.
 */
@Entity({ name: 'mfa_pending_logins' })
@Index('ix_mfa_pending_logins_user', ['userId'])
@Index('ix_mfa_pending_logins_expires', ['expiresAt'])
@Check('ck_mfa_pending_logins_purpose', `purpose IN ('verify', 'enrol')`)
export class MfaPendingLogin {
  @PrimaryColumn({ type: 'char', length: 64 })
  id: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId: string;

  /** The login throttle's account key, so the second step counts toward the same lockout. */
  @Column({ name: 'account_key', type: 'varchar', length: 400 })
  accountKey: string;

  @Column({ type: 'varchar', length: 16 })
  purpose: 'verify' | 'enrol';

  @Column({ name: 'next', type: 'text', nullable: true })
  next: string | null;

  /** The session the browser came with, revoked when the second step opens the new one. */
  @Column({ name: 'previous_session_id', type: 'char', length: 64, nullable: true })
  previousSessionId: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @ManyToOne(() => User, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'mfa_pending_logins_user_id_fkey' })
  user?: User;

  @ManyToOne(() => Tenant, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'mfa_pending_logins_tenant_id_fkey' })
  tenant?: Tenant;
}

/**
 * A WebAuthn challenge we issued (W3C WebAuthn §13.4.3: random, used once, checked by the
 * server). Deleted when used: a DELETE … RETURNING lets exactly one use through.
 */
@Entity({ name: 'mfa_webauthn_challenges' })
@Index('ix_mfa_webauthn_challenges_expires', ['expiresAt'])
@Check('ck_mfa_webauthn_challenges_purpose', `purpose IN ('register', 'authenticate')`)
export class MfaWebauthnChallenge {
  @PrimaryColumn({ type: 'varchar', length: 128 })
  challenge: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @Column({ type: 'varchar', length: 16 })
  purpose: 'register' | 'authenticate';

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @ManyToOne(() => User, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'mfa_webauthn_challenges_user_id_fkey' })
  user?: User;
}

export const MFA_ENTITIES = [MfaTotp, MfaWebauthnCredential, MfaRecoveryCode, MfaPendingLogin, MfaWebauthnChallenge];
