import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { Tenant } from '../tenants/tenant.entity';
import type { FlatAttributes } from '../tenants/tenant.entity';

export const USER_ROLES = ['member', 'tenant_admin'] as const;
export type UserRole = (typeof USER_ROLES)[number];

@Entity({ name: 'users' })
@Index('uq_users_tenant_email', ['tenantId', 'email'], { unique: true })
@Index('ix_users_email', ['email'])
@Check('ck_users_email_lower', `email = lower(email)`)
@Check('ck_users_role', `role IN ('member', 'tenant_admin')`)
export class User {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId: string;

  /** Stored lower-cased: emails are compared lower-cased (as Metabase does). */
  @Column({ type: 'varchar', length: 254 })
  email: string;

  @Column({ name: 'first_name', type: 'varchar', length: 100, default: '' })
  firstName: string;

  @Column({ name: 'last_name', type: 'varchar', length: 100, default: '' })
  lastName: string;

  /** argon2id PHC string; null for a user who cannot log in with a password (e.g. hand-off only). */
  @Column({ name: 'password_hash', type: 'text', nullable: true, select: false })
  passwordHash: string | null;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  attributes: FlatAttributes;

  @Column({ type: 'boolean', default: false })
  disabled: boolean;

  /**
   * `tenant_admin` manages their own tenant in the operator console; `member` only signs in
   * to the BI tools. (Users of the operator tenant are platform operators whatever this says.)
   */
  @Column({ type: 'varchar', length: 20, default: 'member' })
  role: UserRole;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;

  // Relations: declared so the entities describe the migrations' foreign keys (and
  // `npm run migration:generate` finds nothing to drop); not loaded unless asked for.

  @ManyToOne(() => Tenant, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'users_tenant_id_fkey' })
  tenant?: Tenant;
}
