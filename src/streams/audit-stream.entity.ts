import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { registerSealedColumn } from '../crypto/sealed-columns';
import { Tenant } from '../tenants/tenant.entity';

/**
 * A destination audit events are sent to (Standard Webhooks). tenantId null: global (every
 * event); else only that tenant's events. Empty eventTypes: every type.
 */
@Entity({ name: 'audit_streams' })
@Index('ix_audit_streams_tenant', ['tenantId'])
export class AuditStream {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'tenant_id', type: 'uuid', nullable: true })
  tenantId: string | null;

  @Column({ type: 'varchar', length: 100 })
  name: string;

  @Column({ type: 'varchar', length: 2048 })
  url: string;

  @Column({ name: 'event_types', type: 'varchar', length: 64, array: true, default: () => "'{}'" })
  eventTypes: string[];

  /** The whsec_ signing secret, sealed (SecretBox, context auditStreamSecretContext). */
  @Column({ name: 'secret_enc', type: 'text', select: false })
  secretEnc: string;

  /** During a secret rotation, the previous secret, sealed (context auditStreamPreviousSecretContext). */
  @Column({ name: 'previous_secret_enc', type: 'text', nullable: true, select: false })
  previousSecretEnc: string | null;

  /** Until when deliveries are signed with the previous secret too. */
  @Column({ name: 'previous_secret_until', type: 'timestamptz', nullable: true })
  previousSecretUntil: Date | null;

  @Column({ type: 'boolean', default: true })
  enabled: boolean;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'last_success_at', type: 'timestamptz', nullable: true })
  lastSuccessAt: Date | null;

  @Column({ name: 'last_failure_at', type: 'timestamptz', nullable: true })
  lastFailureAt: Date | null;

  @Column({ name: 'last_error', type: 'varchar', length: 500, nullable: true })
  lastError: string | null;

  @ManyToOne(() => Tenant, { onDelete: 'CASCADE', nullable: true })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'audit_streams_tenant_id_fkey' })
  tenant?: Tenant;
}

export const auditStreamSecretContext = (id: string) => `audit_streams.secret:${id}`;
registerSealedColumn({ table: 'audit_streams', keyColumns: ['id'], column: 'secret_enc', shape: 'value', context: (r) => auditStreamSecretContext(r.id) });
export const auditStreamPreviousSecretContext = (id: string) => `audit_streams.previous_secret:${id}`;
registerSealedColumn({ table: 'audit_streams', keyColumns: ['id'], column: 'previous_secret_enc', shape: 'value', context: (r) => auditStreamPreviousSecretContext(r.id) });

/** The outbox: one row per (stream, event), written with the event (a trigger; see the migration). */
@Entity({ name: 'audit_stream_deliveries' })
@Index('ix_audit_stream_deliveries_stream', ['streamId', 'status', 'id'])
@Check('ck_audit_stream_deliveries_status', `status IN ('pending', 'delivered', 'failed')`)
export class AuditStreamDelivery {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' })
  id: string;

  @Column({ name: 'stream_id', type: 'uuid' })
  streamId: string;

  @Column({ name: 'event_id', type: 'bigint' })
  eventId: string;

  @Column({ name: 'event_at', type: 'timestamptz' })
  eventAt: Date;

  @Column({ type: 'varchar', length: 16, default: 'pending' })
  status: 'pending' | 'delivered' | 'failed';

  @Column({ type: 'integer', default: 0 })
  attempts: number;

  @Column({ name: 'next_attempt_at', type: 'timestamptz', default: () => 'now()' })
  nextAttemptAt: Date;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'delivered_at', type: 'timestamptz', nullable: true })
  deliveredAt: Date | null;

  @Column({ name: 'last_error', type: 'varchar', length: 500, nullable: true })
  lastError: string | null;

  @ManyToOne(() => AuditStream, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'stream_id', foreignKeyConstraintName: 'audit_stream_deliveries_stream_id_fkey' })
  stream?: AuditStream;
}
