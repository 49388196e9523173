import { EnvReader } from './env';

/** The `lockout` namespace: the login limits per account and per client IP. */
export interface LockoutNamespace {
  threshold: number;
  windowSeconds: number;
  durationSeconds: number;
  ipLimit: number;
  ipWindowSeconds: number;
}

/** LOGIN_LOCKOUT_THRESHOLD, LOGIN_LOCKOUT_WINDOW, LOGIN_LOCKOUT_DURATION, LOGIN_IP_LIMIT, LOGIN_IP_WINDOW. */
export function parseLockout(read: EnvReader): LockoutNamespace {
  return {
    threshold: read.int('LOGIN_LOCKOUT_THRESHOLD', 10, 1, 1000),
    windowSeconds: read.int('LOGIN_LOCKOUT_WINDOW', 15 * 60, 1, 86400),
    durationSeconds: read.int('LOGIN_LOCKOUT_DURATION', 15 * 60, 1, 86400),
    ipLimit: read.int('LOGIN_IP_LIMIT', 100, 1, 1_000_000),
    ipWindowSeconds: read.int('LOGIN_IP_WINDOW', 15 * 60, 1, 86400),
  };
}
