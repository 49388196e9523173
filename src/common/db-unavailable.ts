import { QueryFailedError } from 'typeorm';
import { BatchWaitExceeded } from './batcher';

/**
 * SQLSTATEs meaning "the database cannot serve now", not "this request is wrong":
 * class 08 (connection exception), 57P01-57P03 (admin/crash shutdown, cannot connect now:
 * Postgres stopping or starting), 53300 (too many connections). PostgreSQL docs, Appendix A.
 */
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[123]|53300)$/;
/** Socket-level failures of the pg driver reaching the server. */
const UNAVAILABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN']);
/**
 * node-postgres reports a dropped or timed-out connection by message only: a dropped socket,
 * a pool that could not connect in time, a query sent on a client that already failed or was
 * closed, and `query_timeout` passing without an answer (a server that stopped answering).
 */
const UNAVAILABLE_MESSAGE =
  /^Connection terminated|^timeout exceeded when trying to connect|^Client has encountered a connection error|^Client was closed and is not queryable|^Connection ended|^Query read timeout/;

/**
 * True when `e` says Postgres is unreachable or going away: the request may succeed once it
 * is back, so it is answered 503 (RFC 9110 §15.6.4), never as a 500 of our own making.
 */
export function isDatabaseUnavailable(e: unknown): boolean {
  // Queued for a batch longer than allowed: the database is not keeping up.
  if (e instanceof BatchWaitExceeded) return true;
  for (let cur: unknown = e, depth = 0; cur && typeof cur === 'object' && depth < 4; depth++) {
    const err = cur as { code?: unknown; message?: unknown; driverError?: unknown; errors?: unknown[]; cause?: unknown };
    if (typeof err.code === 'string' && (UNAVAILABLE_SQLSTATE.test(err.code) || UNAVAILABLE_ERRNO.has(err.code))) return true;
    if (typeof err.message === 'string' && UNAVAILABLE_MESSAGE.test(err.message)) return true;
    if (Array.isArray(err.errors) && err.errors.some((x) => isDatabaseUnavailable(x))) return true;
    cur = cur instanceof QueryFailedError ? err.driverError : err.cause;
  }
  return false;
}
