import type { AuthenticatedRequest } from '../auth/auth.decorators';
import type { RequestMeta } from '../auth/auth.types';

/** The audit actor and origin of a request ("apikey:<id>", "user:<id>" or "anonymous"). */
export function requestMeta(req: AuthenticatedRequest): RequestMeta {
  const actor = req.principal
    ? `apikey:${req.principal.keyId}`
    : req.sessionContext
      ? `user:${req.sessionContext.user.id}`
      : 'anonymous';
  return { actor, ip: req.ip ?? null, requestId: typeof req.id === 'string' ? req.id : null };
}
