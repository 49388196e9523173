import { Check, Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** A known value sealed under SECRETS_KEY (one row, id 1): see secrets-check.ts. */
@Entity({ name: 'secrets_check' })
@Check('ck_secrets_check_single', 'id = 1')
export class SecretsCheck {
  @PrimaryColumn({ type: 'smallint' })
  id: number;

  @Column({ type: 'text' })
  sealed: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;
}
