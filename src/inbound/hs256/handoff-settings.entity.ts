import { Column, JoinColumn, ManyToOne, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { Tenant } from '../../tenants/tenant.entity';

/**
 * A tenant's host-app hand-off switches (one row per tenant that configured them; no row
 * means both off). Its own table, owned by the hand-off module: the tenant entity stays
 * the tenants module's.
 */
@Entity({ name: 'handoff_settings' })
export class HandoffSettings {
  @PrimaryColumn({ name: 'tenant_id', type: 'uuid' })
  tenantId: string;

  /** An assertion for an unknown email creates the user (just-in-time provisioning). */
  @Column({ name: 'jit_provisioning', type: 'boolean', default: false })
  jitProvisioning: boolean;

  /** Each hand-off replaces the user's groups with the assertion's `groups` (when it has the claim). */
  @Column({ name: 'sync_groups', type: 'boolean', default: false })
  syncGroups: boolean;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;

  @ManyToOne(() => Tenant, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'handoff_settings_tenant_id_fkey' })
  tenant?: Tenant;
}
