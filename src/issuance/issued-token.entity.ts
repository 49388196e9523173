import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

/** Every token we mint, recorded before it leaves (jti unique forever while kept). */
@Entity({ name: 'issued_tokens' })
@Index('ix_issued_tokens_exp', ['exp'])
export class IssuedToken {
  @PrimaryColumn({ type: 'uuid' })
  jti: string;

  @Column({ name: 'target_id', type: 'uuid' })
  targetId: string;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @Column({ name: 'session_id', type: 'varchar', length: 64, nullable: true })
  sessionId: string | null;

  /** Epoch seconds, as in the token. */
  @Column({ type: 'bigint' })
  iat: string;

  @Column({ type: 'bigint' })
  exp: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
