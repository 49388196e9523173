import { Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { DataSource, EntityManager } from 'typeorm';
import { InjectConfig } from '../../config/config.module';
import { Config } from '../../config/configuration';
import { updatedRows } from '../../common/db-errors';

/** How often stale counters are swept (they are harmless, only clutter). */
const PRUNE_INTERVAL_MS = 15 * 60_000;

/** What `reserve` decided, before any password work. */
export type Admission =
  | { admitted: true }
  /** The IP is over LOGIN_IP_LIMIT: 429 for this many seconds. Nothing was counted for the account. */
  | { admitted: false; refusal: 'ip'; retryAfterSeconds: number }
  /** The account is locked, or every attempt it has left is already in flight. */
  | { admitted: false; refusal: 'account' };

/**
 * Brute-force counters in login_throttles (OWASP Authentication Cheat Sheet, "Account
 * Lockout"): per account — N failures within a window lock it for a while — and per IP — over
 * the limit within its own window, the IP gets 429 until the window ends.
 *
 * The counters decide BEFORE the password is verified (issue 8, finding 4: a burst of 100
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
   * Reserves one attempt for the IP, then (when the IP was admitted) for the account. An IP
   * over its limit is refused before the account is looked at, so the answer depends on the IP
   * only; an account refusal still counts against the IP (a guesser spraying locked accounts
   * keeps using up its IP's attempts).
   */
  async reserve(accountKey: string, ipKey: string): Promise<Admission> {
    const { ipLimit, ipWindowSeconds, threshold, windowSeconds } = this.lockout;
    const ip: unknown[] = await this.dataSource.query(
      `INSERT INTO login_throttles AS t (key, failures, window_started_at)
       VALUES ($1, 1, now())
       ON CONFLICT (key) DO UPDATE SET
         failures = CASE WHEN t.window_started_at <= now() - make_interval(secs => $3) THEN 1 ELSE t.failures + 1 END,
         window_started_at = CASE WHEN t.window_started_at <= now() - make_interval(secs => $3) THEN now() ELSE t.window_started_at END
       WHERE t.window_started_at <= now() - make_interval(secs => $3) OR t.failures < $2
       RETURNING failures`,
      [ipKey, ipLimit, ipWindowSeconds],
    );
    if (!ip.length) return { admitted: false, refusal: 'ip', retryAfterSeconds: await this.ipRetryAfter(ipKey) };

    // A counter starts afresh after its lockout has ended (the user gets N tries again) or,
    // when not locked, once its window has passed. While locked, or with every remaining
    // attempt already reserved, the WHERE refuses the update: no row comes back.
    const fresh = `CASE WHEN t.locked_until IS NOT NULL THEN t.locked_until <= now()
                        ELSE t.window_started_at <= now() - make_interval(secs => $3) END`;
    const acct: unknown[] = await this.dataSource.query(
      `INSERT INTO login_throttles AS t (key, failures, window_started_at)
       VALUES ($1, 1, now())
       ON CONFLICT (key) DO UPDATE SET
         failures = CASE WHEN ${fresh} THEN 1 ELSE t.failures + 1 END,
         window_started_at = CASE WHEN ${fresh} THEN now() ELSE t.window_started_at END,
         locked_until = NULL
       WHERE ${fresh} OR (t.locked_until IS NULL AND t.failures < $2)
       RETURNING failures`,
      [accountKey, threshold, windowSeconds],
    );
    return acct.length ? { admitted: true } : { admitted: false, refusal: 'account' };
  }

  private async ipRetryAfter(ipKey: string): Promise<number> {
    const rows: { retry_after: number | null }[] = await this.dataSource.query(
      `SELECT ceil(extract(epoch FROM window_started_at + make_interval(secs => $2) - now()))::int AS retry_after
         FROM login_throttles WHERE key = $1`,
      [ipKey, this.lockout.ipWindowSeconds],
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
   * A verified right password: clears the account's failures and hands the IP its reservation
   * back (the IP limit counts failures). False — and nothing changes — when the account was
   * locked meanwhile by a racing failure: the right password does not get past a lockout.
   */
  async settleSuccess(accountKey: string, ipKey: string): Promise<boolean> {
    return this.dataSource.transaction(async (m) => {
      // FOR UPDATE waits for a racing settleFailure and reads what it committed.
      const [row]: { locked: boolean }[] = await m.query(
        `SELECT coalesce(locked_until > now(), false) AS locked FROM login_throttles WHERE key = $1 FOR UPDATE`,
        [accountKey],
      );
      if (row?.locked) return false;
      await m.query(`DELETE FROM login_throttles WHERE key = $1`, [accountKey]);
      await this.giveBack(m, [ipKey]);
      return true;
    });
  }

  /** An admitted attempt that was never verified (the hash queue was full): both reservations back. */
  async release(accountKey: string, ipKey: string): Promise<void> {
    await this.giveBack(this.dataSource, [accountKey, ipKey]);
  }

  private async giveBack(q: Pick<EntityManager, 'query'>, keys: string[]): Promise<void> {
    await q.query(`UPDATE login_throttles SET failures = greatest(failures - 1, 0) WHERE key = ANY($1)`, [keys]);
  }

  /** Drops counters whose window and lockout are both over: they would restart from 1 anyway. */
  @Interval('login-throttle-prune', PRUNE_INTERVAL_MS)
  async prune(): Promise<number> {
    const longest = Math.max(this.lockout.windowSeconds, this.lockout.ipWindowSeconds);
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
