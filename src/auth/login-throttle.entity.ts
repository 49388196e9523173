import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * Failure counters for brute-force protection, keyed "acct:<tenant>:<email>" or "ip:<addr>".
 * Updated with one atomic upsert so parallel failures count exactly once each.
 */
@Entity({ name: 'login_throttles' })
export class LoginThrottle {
  @PrimaryColumn({ type: 'varchar', length: 400 })
  key: string;

  @Column({ type: 'integer', default: 0 })
  failures: number;

  @Column({ name: 'window_started_at', type: 'timestamptz' })
  windowStartedAt: Date;

  @Column({ name: 'locked_until', type: 'timestamptz', nullable: true })
  lockedUntil: Date | null;
}
