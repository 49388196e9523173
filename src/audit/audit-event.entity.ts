import { Column, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

/**
 * Partitioned by month on `at` (migrations/1765500000000-PartitionAuditEvents.ts): the primary
 * key is (id, at) because a partitioned table's must contain the partition key.
 */
@Entity({ name: 'audit_events' })
@Index('ix_audit_tenant_at', ['tenantId', 'at'])
@Index('ix_audit_type_at', ['type', 'at'])
@Index('ix_audit_at', ['at'])
export class AuditEvent {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS', primaryKeyConstraintName: 'pk_audit_events' })
  id: string;

  /** e.g. tenant.created, login.failure, sso.token_issued */
  @Column({ type: 'varchar', length: 64 })
  type: string;

  /** "apikey:<id>", "user:<id>", "system", "anonymous" */
  @Column({ type: 'varchar', length: 200 })
  actor: string;

  /** No foreign key: the trail outlives what it describes. */
  @Column({ name: 'tenant_id', type: 'uuid', nullable: true })
  tenantId: string | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ip: string | null;

  @Column({ name: 'request_id', type: 'varchar', length: 64, nullable: true })
  requestId: string | null;

  @PrimaryColumn({ type: 'timestamptz', default: () => 'now()', primaryKeyConstraintName: 'pk_audit_events' })
  at: Date;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  details: Record<string, unknown>;
}
