import { Column, JoinColumn, ManyToOne, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { registerSealedColumn } from '../../crypto/sealed-columns';
import { Tenant } from '../../tenants/tenant.entity';
import { handoffSecretContext } from './handoff-keys';

/**
 * A tenant's hand-off secrets, sealed (SecretBox, context `handoff:<tenant>:<id>`). At most
 * two per tenant: the newest, and the one it replaced while host apps roll over to it.
 */
@Entity({ name: 'handoff_secrets' })
@Index('ix_handoff_secrets_tenant', ['tenantId', 'createdAt'])
export class HandoffSecret {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId: string;

  @Column({ name: 'secret_enc', type: 'text' })
  secretEnc: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @ManyToOne(() => Tenant, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'handoff_secrets_tenant_id_fkey' })
  tenant?: Tenant;
}

registerSealedColumn({
  table: 'handoff_secrets',
  keyColumns: ['id', 'tenant_id'],
  column: 'secret_enc',
  shape: 'value',
  context: (r) => handoffSecretContext(r.tenant_id, r.id),
});
