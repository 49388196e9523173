import type { Request } from 'express';

/** Who did it, from where — passed by controllers to services that write audit events. */
export interface RequestMeta {
  actor: string;
  ip: string | null;
  requestId: string | null;
  /**
   * Set by the SSO fast path (sso-fast-path.ts) only: a refusal is not audited or answered
   * there but thrown as RefusalDeferred, and the request goes through the full pipeline,
   * which refuses it (once, audited) as always.
   */
  deferRefusals?: boolean;
  /** The SSO fast path already spent this request's handshake of the session's rate (also when it handed the request on). */
  handshakeCharged?: boolean;
}

/**
 * What requestMeta reads of a request: the auth guard's principal or session (auth's
 * AuthenticatedRequest is one), the request id pino-http gives it.
 */
type IdentifiedRequest = Request & { principal?: { keyId: string }; sessionContext?: { user: { id: string } } | null; handshakeCharged?: boolean };

/** The audit actor and origin of a request ("apikey:<id>", "user:<id>" or "anonymous"). */
export function requestMeta(req: IdentifiedRequest): RequestMeta {
  const actor = req.principal
    ? `apikey:${req.principal.keyId}`
    : req.sessionContext
      ? `user:${req.sessionContext.user.id}`
      : 'anonymous';
  return { actor, ip: req.ip ?? null, requestId: typeof req.id === 'string' ? req.id : null, ...(req.handshakeCharged === true ? { handshakeCharged: true } : {}) };
}
