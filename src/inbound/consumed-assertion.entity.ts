import { Column, JoinColumn, ManyToOne, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';
import { Tenant } from '../tenants/tenant.entity';

/**
 * Hand-off assertions already used, by (tenant, jti): the primary key is what makes an
 * assertion single-use across every process of the service (the INSERT of a second use
 * finds the row). Kept until the assertion's exp has passed, then pruned.
 */
@Entity({ name: 'handoff_consumed_assertions' })
@Index('ix_handoff_consumed_assertions_exp', ['exp'])
// A trusted issuer's token is spent for the issuer, whichever organization trusts it now.
@Index('uq_handoff_consumed_issuer_tokens', ['jti'], { unique: true, where: `jti LIKE 'oidc:%'` })
export class ConsumedAssertion {
  @PrimaryColumn({ name: 'tenant_id', type: 'uuid' })
  tenantId: string;

  @PrimaryColumn({ type: 'varchar', length: 200 })
  jti: string;

  /** Epoch seconds, the assertion's exp. */
  @Column({ type: 'bigint' })
  exp: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @ManyToOne(() => Tenant, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'handoff_consumed_assertions_tenant_id_fkey' })
  tenant?: Tenant;
}
