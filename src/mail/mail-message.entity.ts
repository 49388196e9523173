import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { registerSealedColumn } from '../crypto/sealed-columns';
import { Tenant } from '../tenants/tenant.entity';

export const MAIL_STATUSES = ['pending', 'sent', 'failed', 'held'] as const;
export type MailStatus = (typeof MAIL_STATUSES)[number];

/** One outgoing message (see the migration AddMailOutbox for the life of a row). */
@Entity({ name: 'mail_outbox' })
@Index('ix_mail_outbox_due', ['nextAttemptAt'], { where: `status = 'pending'` })
@Index('ix_mail_outbox_created', ['createdAt'])
@Check('ck_mail_outbox_status', `status IN ('pending', 'sent', 'failed', 'held')`)
export class MailMessage {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'tenant_id', type: 'uuid', nullable: true })
  tenantId: string | null;

  /** What the message is for (`invitation`, `password_reset`, …): shown in the console and the log. */
  @Column({ type: 'varchar', length: 40 })
  purpose: string;

  @Column({ name: 'to_address', type: 'varchar', length: 254 })
  toAddress: string;

  @Column({ type: 'varchar', length: 300 })
  subject: string;

  /** Sealed JSON `{ text, html }` (mailBodyContext): the bodies hold single-use links. */
  @Column({ name: 'body_enc', type: 'text', select: false })
  bodyEnc: string;

  @Column({ type: 'varchar', length: 10, default: 'pending' })
  status: MailStatus;

  @Column({ type: 'integer', default: 0 })
  attempts: number;

  @Column({ name: 'next_attempt_at', type: 'timestamptz', default: () => 'now()' })
  nextAttemptAt: Date;

  @Column({ name: 'last_error', type: 'varchar', length: 500, nullable: true })
  lastError: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @Column({ name: 'sent_at', type: 'timestamptz', nullable: true })
  sentAt: Date | null;

  @ManyToOne(() => Tenant, { onDelete: 'CASCADE', nullable: true })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'mail_outbox_tenant_id_fkey' })
  tenant?: Tenant;
}

/** The AES-GCM additional data of a message's sealed body: bound to its row. */
export function mailBodyContext(id: string): string {
  return `mail_outbox:${id}:body`;
}

registerSealedColumn({ table: 'mail_outbox', keyColumns: ['id'], column: 'body_enc', shape: 'value', context: (r) => mailBodyContext(r.id) });
