import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { Tenant } from '../tenants/tenant.entity';
import { User } from '../users/user.entity';

export type AccountLinkPurpose = 'invitation' | 'password_reset';

/** A single-use link mailed to a person (see the migration AddAccountLinks). */
@Entity({ name: 'account_links' })
@Index('uq_account_links_token_hash', ['tokenHash'], { unique: true })
@Index('ix_account_links_tenant_user', ['tenantId', 'userId'])
@Check('ck_account_links_purpose', `purpose IN ('invitation', 'password_reset')`)
export class AccountLink {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @Column({ type: 'varchar', length: 20 })
  purpose: AccountLinkPurpose;

  /** SHA-256 (hex) of the link's token; the token itself is only in the mail. */
  @Column({ name: 'token_hash', type: 'char', length: 64, select: false })
  tokenHash: string;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @Column({ name: 'used_at', type: 'timestamptz', nullable: true })
  usedAt: Date | null;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt: Date | null;

  /** The audit actor who made it (`user:<id>`, `key:<id>`, `anonymous` for a reset asked for on the login page). */
  @Column({ name: 'created_by', type: 'varchar', length: 100 })
  createdBy: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @ManyToOne(() => Tenant, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'account_links_tenant_id_fkey' })
  tenant?: Tenant;

  @ManyToOne(() => User, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'user_id', foreignKeyConstraintName: 'account_links_user_id_fkey' })
  user?: User;
}
