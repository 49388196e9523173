import { EnvReader } from './env';

/** The `lockout` namespace: the login limits per account and per client IP. */
export interface LockoutNamespace {
  threshold: number;
  windowSeconds: number;
  durationSeconds: number;
  ipLimit: number;
  ipWindowSeconds: number;
  /** Attempts of any outcome (right passwords too) per IP within ipWindowSeconds. */
  ipAttemptLimit: number;
  /** Attempts of any outcome per account within windowSeconds. */
  accountAttemptLimit: number;
  /** Password verifications one IP may have in flight (hashing or waiting for a slot). */
  ipConcurrency: number;
  /** Password verifications one account may have in flight. */
  accountConcurrency: number;
}

/**
 * LOGIN_LOCKOUT_THRESHOLD, LOGIN_LOCKOUT_WINDOW, LOGIN_LOCKOUT_DURATION, LOGIN_IP_LIMIT,
 * LOGIN_IP_WINDOW, LOGIN_IP_ATTEMPT_LIMIT, LOGIN_ACCOUNT_ATTEMPT_LIMIT, LOGIN_IP_CONCURRENCY,
 * LOGIN_ACCOUNT_CONCURRENCY.
 */
export function parseLockout(read: EnvReader): LockoutNamespace {
  return {
    threshold: read.int('LOGIN_LOCKOUT_THRESHOLD', 10, 1, 1000),
    windowSeconds: read.int('LOGIN_LOCKOUT_WINDOW', 15 * 60, 1, 86400),
    durationSeconds: read.int('LOGIN_LOCKOUT_DURATION', 15 * 60, 1, 86400),
    ipLimit: read.int('LOGIN_IP_LIMIT', 100, 1, 1_000_000),
    ipWindowSeconds: read.int('LOGIN_IP_WINDOW', 15 * 60, 1, 86400),
    // Generous for a shared office NAT (a person signs in a few times a day); a client that
    // signs in ordinary accounts in a loop meets it within minutes.
    ipAttemptLimit: read.int('LOGIN_IP_ATTEMPT_LIMIT', 1000, 1, 100_000_000),
    accountAttemptLimit: read.int('LOGIN_ACCOUNT_ATTEMPT_LIMIT', 30, 1, 1_000_000),
    ipConcurrency: read.int('LOGIN_IP_CONCURRENCY', 4, 1, 100_000),
    // The lockout already keeps at most LOGIN_LOCKOUT_THRESHOLD wrong guesses of an account in
    // flight; this bounds right passwords the same way.
    accountConcurrency: read.int('LOGIN_ACCOUNT_CONCURRENCY', 10, 1, 100_000),
  };
}
