import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * Login counters for brute-force protection, keyed "acct:<tenant>:<email>" or "ip:<addr>":
 * failures (and the lockout) in one window, attempts of any outcome in another. Updated with
 * one atomic upsert so parallel attempts count exactly once each.
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

  @Column({ type: 'integer', default: 0 })
  attempts: number;

  @Column({ name: 'attempts_window_started_at', type: 'timestamptz', default: () => 'now()' })
  attemptsWindowStartedAt: Date;
}
