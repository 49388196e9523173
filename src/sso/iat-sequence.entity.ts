import { Column, Entity, PrimaryColumn } from 'typeorm';

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
}
