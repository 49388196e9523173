import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

@Entity({ name: 'audit_events' })
@Index('ix_audit_tenant_at', ['tenantId', 'at'])
@Index('ix_audit_type_at', ['type', 'at'])
@Index('ix_audit_at', ['at'])
export class AuditEvent {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS' })
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

  @Column({ type: 'timestamptz', default: () => 'now()' })
  at: Date;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  details: Record<string, unknown>;
}
