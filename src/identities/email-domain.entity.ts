import { Check, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, Column } from 'typeorm';
import { Tenant } from '../tenants/tenant.entity';

/**
 * An email domain an operator gave to one tenant: users and shared accounts with an email in
 * it can exist only in that tenant (see IdentitiesService). One owner per domain (primary key).
 */
@Entity({ name: 'email_domains' })
@Index('ix_email_domains_tenant', ['tenantId'])
@Check('ck_email_domains_lower', `domain = lower(domain)`)
export class EmailDomain {
  @PrimaryColumn({ type: 'varchar', length: 253 })
  domain: string;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @ManyToOne(() => Tenant, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'email_domains_tenant_id_fkey' })
  tenant?: Tenant;
}
