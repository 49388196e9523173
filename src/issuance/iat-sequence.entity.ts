import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * Last iat issued per BI user. Sisense denies a token whose iat is not later than the one of
 * the user's previous session, so iat = max(now, last + 1), atomically. Keyed by `scope` —
 * the BI instance (and Sisense tenant) the user lives in, not our target row: two targets
 * pointing at one Sisense share its users, so they must share the sequence too.
 */
@Entity({ name: 'iat_sequences' })
export class IatSequence {
  @PrimaryColumn({ type: 'varchar', length: 600 })
  scope: string;

  @PrimaryColumn({ type: 'varchar', length: 254 })
  subject: string;

  @Column({ name: 'last_iat', type: 'bigint' })
  lastIat: string;
}
