import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { Tenant } from '../tenants/tenant.entity';

/** How a tenant came to own an identity (kept for the operator resolving a conflict). */
export type ClaimedVia = 'sso' | 'user' | 'shared_account' | 'operator';

/**
 * Who owns an email on a BI instance. Metabase and Sisense key a user by email alone: two
 * tenants sending one email to one instance would share one BI account. The primary key
 * (instance, email) makes a second owner impossible; only an operator moves or frees a row.
 * `instance` is the normalised origin of the targets' base URL (see instance.ts).
 */
@Entity({ name: 'bi_identities' })
@Index('ix_bi_identities_tenant', ['tenantId'])
@Index('ix_bi_identities_email', ['email'])
@Check('ck_bi_identities_email_lower', `email = lower(email)`)
export class BiIdentity {
  @PrimaryColumn({ type: 'varchar', length: 300 })
  instance: string;

  @PrimaryColumn({ type: 'varchar', length: 254 })
  email: string;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId: string;

  @Column({ name: 'claimed_via', type: 'varchar', length: 20 })
  claimedVia: ClaimedVia;

  @CreateDateColumn({ name: 'claimed_at', type: 'timestamptz' })
  claimedAt: Date;

  @ManyToOne(() => Tenant, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'bi_identities_tenant_id_fkey' })
  tenant?: Tenant;
}
