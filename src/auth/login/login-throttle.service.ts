import { Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { DataSource, EntityManager } from 'typeorm';
import { InjectConfig } from '../../config/config.module';
import { Config } from '../../config/configuration';
import { updatedRows } from '../../common/db-errors';
import type { HashClient } from '../../users/hash-slots';

/** How often stale counters are swept (they are harmless, only clutter). */
const PRUNE_INTERVAL_MS = 15 * 60_000;

/** What `reserve` decided, before any password work. */
export type Admission =
  | { admitted: true }
  /**
   * The IP is over LOGIN_IP_LIMIT (failures) or LOGIN_IP_ATTEMPT_LIMIT (attempts of any
   * outcome): 429 for this many seconds. Nothing was counted for the account.
   */
  | { admitted: false; refusal: 'ip'; retryAfterSeconds: number }
  /** The account is over LOGIN_ACCOUNT_ATTEMPT_LIMIT: 429 for this many seconds. */
  | { admitted: false; refusal: 'account-attempts'; retryAfterSeconds: number }
  /** The account is locked, or every attempt it has left is already in flight. */
  | { admitted: false; refusal: 'account' };

/**
 * Brute-force counters in login_throttles (OWASP Authentication Cheat Sheet, "Account
 * Lockout"): per account — N failures within a window lock it for a while — and per IP — over
 * the limit within its own window, the IP gets 429 until the window ends.
 *
 * The counters decide BEFORE the password is verified (a burst of 100
 * parallel attempts used to read "not locked" 100 times and verify all 100). Every attempt
 * first RESERVES one failure on the IP and on the account, each with one atomic
 * `INSERT ... ON CONFLICT DO UPDATE ... WHERE ... RETURNING` (Postgres takes the row lock and
 * re-reads the latest version, so parallel reservations are counted one by one); a counter
 * already at its limit refuses the reservation and the attempt is answered without verifying.
 * So at most `threshold` attempts on an account, and `ipLimit` from an IP, are ever verified
 * per window, however many arrive at once. Then:
 * - a wrong password keeps its reservation as a failure; the failure that finds the account's
 *   counter at the threshold locks it (`settleFailure`, exactly one per lockout);
 * - a right password clears the account and gives the IP its reservation back — unless the
 *   account was locked while it was being verified: then it fails like any attempt on a
 *   locked account (`settleSuccess`);
 * - an attempt never verified (the hash queue was full) gives both reservations back (`release`).
 * In-flight reservations count towards the limit: a reservation whose request died with the
 * process stays a failure and ages out with its window (errs on the side of refusing).
 *
 * The same statements also count ATTEMPTS of any outcome, in their own window, per IP
 * (LOGIN_IP_ATTEMPT_LIMIT) and per account (LOGIN_ACCOUNT_ATTEMPT_LIMIT): a right password
 * gives its failure reservation back, so failures alone cannot stop one client signing in
 * ordinary accounts over and over and keeping the hash slots busy. Attempts are never given
 * back (an attempt refused because the hash line was full still asked for one).
 *
 * Locking (no deadlock, whatever runs at once): every statement here touches ONE
 * login_throttles row, and no transaction holds more than one row lock, so no two of them
 * can wait on each other in a cycle. (A statement updating the account and IP rows together,
 * while another transaction locked them in the other order, was a `deadlock detected`: a 500
 * for a right password.)
 */
@Injectable()
export class LoginThrottleService {
  private readonly log = new Logger(LoginThrottleService.name);

  constructor(
    private readonly dataSource: DataSource,
    @InjectConfig('lockout') private readonly lockout: Config<'lockout'>,
  ) {}

  /** Account key: the tenant id when the tenant exists, else the typed slug (marked with '?'). */
  static accountKey(tenant: { id: string } | null, slug: string, email: string): string {
    return tenant ? `acct:${tenant.id}:${email}` : `acct:?${slug}:${email}`;
  }

  static ipKey(ip: string | null): string {
    return `ip:${ip ?? 'unknown'}`;
  }

  /**
   * How a login's verification queues for a hash slot: in its IP's line (IPs take turns), with
   * at most LOGIN_IP_CONCURRENCY in from the IP and LOGIN_ACCOUNT_CONCURRENCY for the account.
   */
  hashClient(accountKey: string, ipKey: string): HashClient {
    return {
      queue: ipKey,
      caps: [
        { key: ipKey, max: this.lockout.ipConcurrency },
        { key: accountKey, max: this.lockout.accountConcurrency },
      ],
    };
  }

  /**
   * Reserves one attempt for the IP, then (when the IP was admitted) for the account, each in
   * one statement on one row. An IP over its limits is refused before the account is looked
   * at, so the answer depends on the IP only; an account refusal still counts against the IP
   * (a guesser spraying locked accounts keeps using up its IP's attempts).
   */
  async reserve(accountKey: string, ipKey: string): Promise<Admission> {
    const { ipLimit, ipWindowSeconds, ipAttemptLimit, threshold, windowSeconds, accountAttemptLimit } = this.lockout;
    // Attempts restart once their own window has passed; $4 is the attempt limit.
    const attemptsFresh = `t.attempts_window_started_at <= now() - make_interval(secs => $3)`;
    const countAttempt = `attempts = CASE WHEN ${attemptsFresh} THEN 1 ELSE t.attempts + 1 END,
         attempts_window_started_at = CASE WHEN ${attemptsFresh} THEN now() ELSE t.attempts_window_started_at END`;
    const attemptLeft = `(${attemptsFresh} OR t.attempts < $4)`;

    const ipFresh = `t.window_started_at <= now() - make_interval(secs => $3)`;
    const ip: unknown[] = await this.dataSource.query(
      `INSERT INTO login_throttles AS t (key, failures, window_started_at, attempts, attempts_window_started_at)
       VALUES ($1, 1, now(), 1, now())
       ON CONFLICT (key) DO UPDATE SET
         failures = CASE WHEN ${ipFresh} THEN 1 ELSE t.failures + 1 END,
         window_started_at = CASE WHEN ${ipFresh} THEN now() ELSE t.window_started_at END,
         ${countAttempt}
       WHERE (${ipFresh} OR t.failures < $2) AND ${attemptLeft}
       RETURNING failures`,
      [ipKey, ipLimit, ipWindowSeconds, ipAttemptLimit],
    );
    if (!ip.length) {
      return { admitted: false, refusal: 'ip', retryAfterSeconds: await this.retryAfter(ipKey, ipLimit, ipWindowSeconds, ipAttemptLimit, ipWindowSeconds) };
    }

    // A failure count starts afresh after its lockout has ended (the user gets N tries again)
    // or, when not locked, once its window has passed or a right password cleared it (the
    // next failure opens a new window). While locked, with every remaining attempt already
    // reserved, or with no attempt left in the window, the WHERE refuses: no row comes back.
    const fresh = `CASE WHEN t.locked_until IS NOT NULL THEN t.locked_until <= now()
                        ELSE t.failures = 0 OR t.window_started_at <= now() - make_interval(secs => $3) END`;
    const acct: unknown[] = await this.dataSource.query(
      `INSERT INTO login_throttles AS t (key, failures, window_started_at, attempts, attempts_window_started_at)
       VALUES ($1, 1, now(), 1, now())
       ON CONFLICT (key) DO UPDATE SET
         failures = CASE WHEN ${fresh} THEN 1 ELSE t.failures + 1 END,
         window_started_at = CASE WHEN ${fresh} THEN now() ELSE t.window_started_at END,
         locked_until = NULL,
         ${countAttempt}
       WHERE (${fresh} OR (t.locked_until IS NULL AND t.failures < $2)) AND ${attemptLeft}
       RETURNING failures`,
      [accountKey, threshold, windowSeconds, accountAttemptLimit],
    );
    if (acct.length) return { admitted: true };
    const [row]: { over: boolean; retry_after: number }[] = await this.dataSource.query(
      `SELECT attempts >= $2 AND attempts_window_started_at > now() - make_interval(secs => $3) AS over,
              ceil(extract(epoch FROM attempts_window_started_at + make_interval(secs => $3) - now()))::int AS retry_after
         FROM login_throttles WHERE key = $1`,
      [accountKey, accountAttemptLimit, windowSeconds],
    );
    return row?.over ? { admitted: false, refusal: 'account-attempts', retryAfterSeconds: Math.max(1, row.retry_after) } : { admitted: false, refusal: 'account' };
  }

  /** Seconds until the account's lockout ends (at least 1; 1 when it is not locked). */
  async lockedForSeconds(accountKey: string): Promise<number> {
    const [row]: { s: number | null }[] = await this.dataSource.query(
      `SELECT ceil(extract(epoch FROM locked_until - now()))::int AS s FROM login_throttles WHERE key = $1`,
      [accountKey],
    );
    return Math.max(1, row?.s ?? 1);
  }

  /** Seconds until every limit the counter is over has its window end (at least 1). */
  private async retryAfter(key: string, failureLimit: number, failureWindow: number, attemptLimit: number, attemptWindow: number): Promise<number> {
    const rows: { retry_after: number | null }[] = await this.dataSource.query(
      `SELECT greatest(
                CASE WHEN failures >= $2 THEN ceil(extract(epoch FROM window_started_at + make_interval(secs => $3) - now())) END,
                CASE WHEN attempts >= $4 THEN ceil(extract(epoch FROM attempts_window_started_at + make_interval(secs => $5) - now())) END
              )::int AS retry_after
         FROM login_throttles WHERE key = $1`,
      [key, failureLimit, failureWindow, attemptLimit, attemptWindow],
    );
    return Math.max(1, rows[0]?.retry_after ?? 1);
  }

  /**
   * A verified attempt failed (its reservation stays a failure). Locks the account when its
   * counter is at the threshold and it is not locked yet: true for exactly one failure per
   * lockout (the row lock orders the racing ones; the others find it locked).
   */
  async settleFailure(accountKey: string, manager?: EntityManager): Promise<{ justLocked: boolean; failures: number }> {
    const { threshold, durationSeconds } = this.lockout;
    const rows = updatedRows<{ failures: number }>(
      await (manager ?? this.dataSource).query(
        `UPDATE login_throttles SET locked_until = now() + make_interval(secs => $3)
          WHERE key = $1 AND failures >= $2 AND locked_until IS NULL
          RETURNING failures`,
        [accountKey, threshold, durationSeconds],
      ),
    );
    return rows.length ? { justLocked: true, failures: rows[0].failures } : { justLocked: false, failures: 0 };
  }

  /**
   * A verified right password: clears the account's failures (its attempts stay counted) and
   * hands the IP its failure reservation back (the IP limit counts failures). False — and
   * nothing changes — when the account was locked meanwhile by a racing failure: the right
   * password does not get past a lockout.
   */
  async settleSuccess(accountKey: string, ipKey: string, opts: { secondStepFollows?: boolean } = {}): Promise<boolean> {
    // One statement on the account row: the UPDATE waits for a racing settleFailure's row lock
    // and re-checks the lock on what it committed (READ COMMITTED re-evaluates the WHERE on the
    // newest row version). A right password with a second step still to come only gives its
    // own reservation back: the failures (wrong codes included) are cleared by the completed
    // sign-in, else a stolen password could wipe the count of wrong codes before each guess.
    const cleared = updatedRows(
      await this.dataSource.query(
        `UPDATE login_throttles SET failures = CASE WHEN $2 THEN greatest(failures - 1, 0) ELSE 0 END, locked_until = NULL
          WHERE key = $1 AND (locked_until IS NULL OR locked_until <= now())
          RETURNING 1`,
        [accountKey, opts.secondStepFollows === true],
      ),
    );
    if (!cleared.length) {
      // Nothing cleared: locked, or no counter at all (pruned meanwhile) — only the first refuses.
      const [row]: { locked: boolean }[] = await this.dataSource.query(`SELECT locked_until > now() AS locked FROM login_throttles WHERE key = $1`, [accountKey]);
      if (row?.locked) return false;
    }
    await this.giveBack(ipKey);
    return true;
  }

  /** An admitted attempt that was never verified (the hash line was full): both failure reservations back. */
  async release(accountKey: string, ipKey: string): Promise<void> {
    await this.giveBack(accountKey);
    await this.giveBack(ipKey);
  }

  /** One row per statement, outside any transaction (see the class comment on locking). */
  private async giveBack(key: string): Promise<void> {
    await this.dataSource.query(`UPDATE login_throttles SET failures = greatest(failures - 1, 0) WHERE key = $1`, [key]);
  }

  /** Drops counters whose windows and lockout are all over: they would restart from 1 anyway. */
  @Interval('login-throttle-prune', PRUNE_INTERVAL_MS)
  async prune(): Promise<number> {
    const longest = Math.max(this.lockout.windowSeconds, this.lockout.ipWindowSeconds);
    try {
      const [, count] = await this.dataSource.query(
        `DELETE FROM login_throttles
          WHERE window_started_at < now() - make_interval(secs => $1)
            AND attempts_window_started_at < now() - make_interval(secs => $1)
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
