import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { Target } from './target.entity';
import { Tenant } from '../tenants/tenant.entity';
import type { FlatAttributes } from '../tenants/tenant.entity';
import type { AccessSettings, GroupMappings } from '../products/product-types';

export type { AccessSettings, GroupMappings } from '../products/product-types';

/** Which tenant may use which target, and how its users are presented there. */
@Entity({ name: 'tenant_target_access' })
@Index('uq_access_tenant_target', ['tenantId', 'targetId'], { unique: true })
@Index('ix_access_target', ['targetId'])
export class Access {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId: string;

  @Column({ name: 'target_id', type: 'uuid' })
  targetId: string;

  @Column({ name: 'group_mappings', type: 'jsonb', default: () => "'{}'" })
  groupMappings: GroupMappings;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  attributes: FlatAttributes;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  settings: AccessSettings;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;

  // Relations: declared so the entities describe the migrations' foreign keys (and
  // `npm run migration:generate` finds nothing to drop); not loaded unless asked for.

  @ManyToOne(() => Tenant, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'tenant_target_access_tenant_id_fkey' })
  tenant?: Tenant;

  @ManyToOne(() => Target, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'target_id', foreignKeyConstraintName: 'tenant_target_access_target_id_fkey' })
  target?: Target;
}
