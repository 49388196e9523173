import { Injectable } from '@nestjs/common';
import { TokenBuckets } from '../audit/token-buckets';
import { DomainError } from '../common/errors';
import { InjectConfig } from '../config/config.module';
import { Config } from '../config/configuration';
import { MAX_IAT_SHARE_SECONDS } from './iat-sequence';
import { SsoError } from '../catalog/sso.errors';

/** A 429 that says when to come back (the error filter sends Retry-After, RFC 9110 §10.2.3). */
export class TooManyHandshakes extends DomainError {
  constructor(readonly retryAfterSeconds: number) {
    super(SsoError.TooManySignIns, 429, `Too many sign-ins from this session in a short time; try again in ${retryAfterSeconds} s`);
  }
}

/** Sessions (and shares) remembered at once; the least recently used is forgotten first. */
const MAX_KEYS = 50_000;
/** A session's refusals are written to the audit log at most once per this many seconds. */
const AUDIT_WINDOW_SECONDS = 60;

export interface ShareReservation {
  /** The iat the token was recorded with, or null when none was. */
  settle(iat: number | null): void;
}

/**
 * How often one session may mint (every product's handshakes: SSO, signed and guest embeds,
 * broker tokens), and how much of a shared iat sequence it may hold. In process memory: the
 * SSO hot path pays a Map lookup, never a database round trip; with several service processes
 * each applies the limits to what it serves.
 *
 * Rate: a token bucket per session (SSO_SESSION_BURST at once, SSO_SESSION_RATE a second).
 * A person's browser, even with a dashboard of SDK-embedded questions, stays far below.
 *
 * Fair share: Sisense denies an iat not later than the user's previous one, so every sign-in
 * of one Sisense user (e.g. a shared "one account per client") takes the next second of one
 * sequence, which the service caps at MAX_IAT_LEAD_SECONDS ahead of the clock. Without a share
 * one session signing in as fast as it can takes every second the clock frees and a colleague
 * gets 429 for as long as it keeps on. A session may hold at most MAX_IAT_SHARE_SECONDS of the
 * lead (tokens it got whose iat is still ahead of the clock, and those being recorded).
 *
 * Refusals are answered 429 with Retry-After and audited at most once per session per
 * AUDIT_WINDOW_SECONDS, the written event counting the refusals left out before it.
 */
@Injectable()
export class HandshakeLimiter {
  private readonly rate: TokenBuckets;
  private readonly audits = new TokenBuckets({ capacity: 1, refillPerSecond: 1 / AUDIT_WINDOW_SECONDS, maxKeys: MAX_KEYS });
  private readonly unaudited = new Map<string, number>();
  /** (sequence, session) -> iats held ahead of the clock; NaN for one still being recorded. */
  private readonly held = new Map<string, number[]>();

  constructor(@InjectConfig('tokens') cfg: Config<'tokens'>) {
    this.rate = new TokenBuckets({ capacity: cfg.sessionBurst, refillPerSecond: cfg.sessionRatePerSecond, maxKeys: MAX_KEYS });
  }

  /** Spends one of the session's handshakes: 0, or the seconds until it has one again. */
  take(sessionId: string): number {
    return this.rate.takeOrWait(sessionId);
  }

  /** Whether the session's next refusal would be written (spends nothing). */
  auditDue(sessionId: string): boolean {
    return this.audits.has(sessionId);
  }

  /** A refusal: whether to write it, and how many of the session's were not written before it. */
  refusal(sessionId: string): { audit: boolean; notAuditedBefore: number } {
    if (this.audits.take(sessionId)) {
      const notAuditedBefore = this.unaudited.get(sessionId) ?? 0;
      this.unaudited.delete(sessionId);
      return { audit: true, notAuditedBefore };
    }
    if (this.unaudited.size >= MAX_KEYS && !this.unaudited.has(sessionId)) this.unaudited.delete(this.unaudited.keys().next().value as string);
    this.unaudited.set(sessionId, (this.unaudited.get(sessionId) ?? 0) + 1);
    return { audit: false, notAuditedBefore: 0 };
  }

  /**
   * A step of the shared sequence `sequence` for this session at `now` (epoch seconds): a
   * reservation to settle with the recorded iat, or the seconds until the session holds less
   * than its share again.
   */
  reserveShare(sequence: string, sessionId: string, now: number): ShareReservation | { retryAfterSeconds: number } {
    const key = `${sequence}\n${sessionId}`;
    const list = (this.held.get(key) ?? []).filter((iat) => Number.isNaN(iat) || iat > now);
    if (list.length >= MAX_IAT_SHARE_SECONDS) {
      const soonest = Math.min(...list.filter((iat) => !Number.isNaN(iat)));
      this.held.set(key, list);
      return { retryAfterSeconds: Number.isFinite(soonest) ? Math.max(1, soonest - now + 1) : 1 };
    }
    list.push(NaN);
    this.remember(key, list);
    return {
      settle: (iat) => {
        const current = this.held.get(key) ?? [];
        const i = current.findIndex((v) => Number.isNaN(v));
        if (i >= 0) current.splice(i, 1);
        // Only an iat ahead of the clock takes a second of the lead away from others.
        if (iat !== null && iat > Math.floor(Date.now() / 1000)) current.push(iat);
        if (current.length) this.held.set(key, current);
        else this.held.delete(key);
      },
    };
  }

  private remember(key: string, list: number[]): void {
    this.held.delete(key);
    if (this.held.size >= MAX_KEYS) this.held.delete(this.held.keys().next().value as string);
    this.held.set(key, list);
  }
}
