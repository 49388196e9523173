import { Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import type { AuthenticatedRequest } from '../auth/auth.decorators';
import type { SessionContext } from '../auth/auth.types';
import { LOGIN_BODY_TOO_LARGE } from '../auth/login/login-form';
import { OVERSIZED } from './token';
import type { HandoffMeta } from './handoff.service';

/** Who and where, for the audit events of a hand-off (anonymous until it succeeds). */
export function handoffMeta(req: AuthenticatedRequest): HandoffMeta {
  return {
    actor: 'anonymous',
    ip: req.ip ?? null,
    requestId: typeof req.id === 'string' ? req.id : null,
    userAgent: req.headers['user-agent'] ?? null,
  };
}

/**
 * The `assertion` form field of a POST. A body over the form parser's limit arrives empty
 * (flagged by bootstrap.ts's /login parser): it is reported as too large, not as missing.
 */
export function postedAssertion(req: AuthenticatedRequest): unknown {
  if ((req as unknown as Record<symbol, unknown>)[LOGIN_BODY_TOO_LARGE]) return OVERSIZED;
  return (req.body as Record<string, unknown> | undefined)?.assertion;
}

/** The raw body the hand-off fast path read before handing the request to Express. */
const READ_BODY = Symbol('handoffFastPathBody');
/** What the hand-off fast path already decided for a request it handed to Express. */
const HANDED_OVER = Symbol('handoffFastPathOutcome');

/** A hand-off the fast path ran and that ended in an error: the full pipeline answers it as its own. */
export interface HandedOverHandoff {
  error: unknown;
  /** The hand-off's new session when it opened before the error (the cookie is already set). */
  session: SessionContext | null;
}

/** Marks `req` as read by the fast path (its body consumed: `body` is every byte of it). */
export function markBodyRead(req: IncomingMessage, body: Buffer): void {
  (req as unknown as Record<symbol, unknown>)[READ_BODY] = body;
}

/**
 * For Express's form parser (bootstrap.ts): the body the fast path already read, as a stream
 * that looks to body-parser like the request itself (same headers, not yet finished), so the
 * very parser and options of the full pipeline parse the very bytes — with its limits, charset
 * and duplicate-key rules, and its errors. Undefined when the fast path did not read it.
 */
export function replayedBody(req: IncomingMessage): (Readable & { headers: IncomingMessage['headers']; body?: unknown }) | undefined {
  const body = (req as unknown as Record<symbol, unknown>)[READ_BODY];
  if (!Buffer.isBuffer(body)) return undefined;
  const stream = Readable.from(body.length ? [body] : [], { objectMode: false });
  // on-finished (body-parser's "already read?" test) asks these of an IncomingMessage.
  return Object.assign(stream, { headers: req.headers, method: req.method, url: req.url, complete: false, socket: { readable: true } });
}

export function handOver(req: IncomingMessage, outcome: HandedOverHandoff): void {
  (req as unknown as Record<symbol, unknown>)[HANDED_OVER] = outcome;
}

/** The fast path's outcome for this request, when it ran the hand-off already (read once). */
export function handedOver(req: IncomingMessage): HandedOverHandoff | undefined {
  return (req as unknown as Record<symbol, HandedOverHandoff | undefined>)[HANDED_OVER];
}
