import { Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { DataSource, EntityManager } from 'typeorm';
import { InjectConfig } from '../../config/config.module';
import { AppConfig } from '../../config/configuration';

/** How often stale counters are swept (they are harmless, only clutter). */
const PRUNE_INTERVAL_MS = 15 * 60_000;

export interface ThrottleStatus {
  /** The account is in a temporary lockout. */
  accountLocked: boolean;
  /** Seconds until the IP may try again, when it is over LOGIN_IP_LIMIT; else null. */
  ipRetryAfter: number | null;
}

export interface FailureResult {
  /** False when the account was already locked when this failure was counted (a racing attempt). */
  counted: boolean;
  /** This failure is the one that locked the account (true for exactly one failure per lockout). */
  justLocked: boolean;
  failures: number;
}

/**
 * Brute-force counters in login_throttles (OWASP Authentication Cheat Sheet, "Account
 * Lockout"): per account — N failures within a window lock it for a while — and per IP — over
 * the limit within its own window, the IP gets 429 until the window ends.
 *
 * Each failure is ONE `INSERT ... ON CONFLICT DO UPDATE ... RETURNING` statement: Postgres
 * takes the row lock and re-reads the latest row version for the update, so 50 parallel
 * failures are counted 50 times, the threshold is crossed by exactly one of them, and a locked
 * account stops counting — the same end state as 50 sequential failures.
 */
@Injectable()
export class LoginThrottleService {
  private readonly log = new Logger(LoginThrottleService.name);

  constructor(
    private readonly dataSource: DataSource,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  /** Account key: the tenant id when the tenant exists, else the typed slug (marked with '?'). */
  static accountKey(tenant: { id: string } | null, slug: string, email: string): string {
    return tenant ? `acct:${tenant.id}:${email}` : `acct:?${slug}:${email}`;
  }

  static ipKey(ip: string | null): string {
    return `ip:${ip ?? 'unknown'}`;
  }

  /** Both checks in one round trip, before any password work. */
  async status(accountKey: string, ipKey: string): Promise<ThrottleStatus> {
    const rows: { key: string; locked: boolean; ip_over: boolean; retry_after: number }[] = await this.dataSource.query(
      `SELECT key,
              coalesce(locked_until > now(), false) AS locked,
              (failures >= $3 AND window_started_at > now() - make_interval(secs => $4)) AS ip_over,
              ceil(extract(epoch FROM window_started_at + make_interval(secs => $4) - now()))::int AS retry_after
         FROM login_throttles WHERE key IN ($1, $2)`,
      [accountKey, ipKey, this.config.lockout.ipLimit, this.config.lockout.ipWindowSeconds],
    );
    const acct = rows.find((r) => r.key === accountKey);
    const ip = rows.find((r) => r.key === ipKey);
    return {
      accountLocked: acct?.locked ?? false,
      ipRetryAfter: ip?.ip_over ? Math.max(1, ip.retry_after) : null,
    };
  }

  /**
   * Counts one failure for the account (unless `accountKey` is null: an attempt on an account
   * already locked does not renew its lock) and one for the IP. An account counter starts afresh
   * when its window has passed or after a lockout has ended (the user gets N tries again);
   * while locked it does not move (the WHERE on the update), so racing attempts are told
   * `counted: false` and are, in effect, attempts on a locked account.
   */
  async recordFailure(accountKey: string | null, ipKey: string, manager?: EntityManager): Promise<FailureResult> {
    const q = manager ?? this.dataSource;
    const { threshold, ipWindowSeconds } = this.config.lockout;
    const rows = accountKey === null ? [] : await this.countAccountFailure(q, accountKey);
    await q.query(
      `INSERT INTO login_throttles AS t (key, failures, window_started_at)
       VALUES ($1, 1, now())
       ON CONFLICT (key) DO UPDATE SET
         failures = CASE WHEN t.window_started_at <= now() - make_interval(secs => $2) THEN 1 ELSE t.failures + 1 END,
         window_started_at = CASE WHEN t.window_started_at <= now() - make_interval(secs => $2) THEN now() ELSE t.window_started_at END`,
      [ipKey, ipWindowSeconds],
    );
    if (!rows.length) return { counted: false, justLocked: false, failures: threshold };
    // The update only runs on an unlocked row, so a lock in the result was set by this statement.
    return { counted: true, justLocked: rows[0].locked_until !== null, failures: rows[0].failures };
  }

  /** One atomic statement; no row back means the account was locked (the WHERE refused the update). */
  private countAccountFailure(q: Pick<EntityManager, 'query'>, accountKey: string): Promise<{ failures: number; locked_until: Date | null }[]> {
    const { threshold, windowSeconds, durationSeconds } = this.config.lockout;
    return q.query(
      `INSERT INTO login_throttles AS t (key, failures, window_started_at, locked_until)
       VALUES ($1, 1, now(), CASE WHEN 1 >= $2 THEN now() + make_interval(secs => $4) END)
       ON CONFLICT (key) DO UPDATE SET
         failures = CASE WHEN t.window_started_at <= now() - make_interval(secs => $3) OR t.locked_until IS NOT NULL
                         THEN 1 ELSE t.failures + 1 END,
         window_started_at = CASE WHEN t.window_started_at <= now() - make_interval(secs => $3) OR t.locked_until IS NOT NULL
                                  THEN now() ELSE t.window_started_at END,
         locked_until = CASE WHEN (CASE WHEN t.window_started_at <= now() - make_interval(secs => $3) OR t.locked_until IS NOT NULL
                                        THEN 1 ELSE t.failures + 1 END) >= $2
                             THEN now() + make_interval(secs => $4) END
       WHERE t.locked_until IS NULL OR t.locked_until <= now()
       RETURNING failures, locked_until`,
      [accountKey, threshold, windowSeconds, durationSeconds],
    );
  }

  /** A successful login clears the account's failures (not the IP's: that one just ages out). */
  async clearAccount(accountKey: string, manager?: EntityManager): Promise<void> {
    await (manager ?? this.dataSource).query(
      `DELETE FROM login_throttles WHERE key = $1 AND (locked_until IS NULL OR locked_until <= now())`,
      [accountKey],
    );
  }

  /** Drops counters whose window and lockout are both over: they would restart from 1 anyway. */
  @Interval('login-throttle-prune', PRUNE_INTERVAL_MS)
  async prune(): Promise<number> {
    const longest = Math.max(this.config.lockout.windowSeconds, this.config.lockout.ipWindowSeconds);
    try {
      const [, count] = await this.dataSource.query(
        `DELETE FROM login_throttles
          WHERE window_started_at < now() - make_interval(secs => $1)
            AND (locked_until IS NULL OR locked_until < now())`,
        [longest],
      );
      return Number(count) || 0;
    } catch (err) {
      this.log.warn({ err }, 'could not prune login throttles');
      return 0;
    }
  }
}
