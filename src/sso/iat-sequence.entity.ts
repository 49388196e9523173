import { Column, Entity, JoinColumn, ManyToOne, PrimaryColumn } from 'typeorm';
import { Target } from './target.entity';

/**
 * Last iat issued per target and subject. Sisense denies a token whose iat is not later
 * than the one of the user's previous session, so iat = max(now, last + 1), atomically.
 */
@Entity({ name: 'iat_sequences' })
export class IatSequence {
  @PrimaryColumn({ name: 'target_id', type: 'uuid' })
  targetId: string;

  @PrimaryColumn({ type: 'varchar', length: 254 })
  subject: string;

  @Column({ name: 'last_iat', type: 'bigint' })
  lastIat: string;

  // Relations: declared so the entities describe the migrations' foreign keys (and
  // `npm run migration:generate` finds nothing to drop); not loaded unless asked for.

  @ManyToOne(() => Target, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'target_id', foreignKeyConstraintName: 'iat_sequences_target_id_fkey' })
  target?: Target;
}
