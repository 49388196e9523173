import type { AuthenticatedRequest } from '../auth/auth.decorators';
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
