import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { SESSION_COOKIE } from './route-protection';

/** The login form's pre-session CSRF cookie (logical name, see `wireCookieName`). */
export const CSRF_COOKIE = 'eidp_csrf';

/** A sign-in waiting for its second step (a right password, no session yet). */
export const MFA_PENDING_COOKIE = 'eidp_mfa';

/** The cookies whose names get the `__Host-` prefix over https. */
const PREFIXED = [SESSION_COOKIE, CSRF_COOKIE, MFA_PENDING_COOKIE] as const;

const HOST_PREFIX = '__Host-';

/**
 * The name a cookie has on the wire. Over https it carries the `__Host-` prefix (RFC 6265bis
 * §4.1.3.2): browsers accept such a cookie only when it is Secure, has Path=/ and no Domain,
 * and was set by this very host over https — so a sibling subdomain or a plain-http hop cannot
 * plant or overwrite it. Over plain http (localhost development) browsers refuse the prefix
 * without Secure, so the plain name is used there.
 */
export function wireCookieName(logical: (typeof PREFIXED)[number], secure: boolean): string {
  return secure ? `${HOST_PREFIX}${logical}` : logical;
}

/**
 * Right after cookie-parser: over https, `req.cookies` gets the `__Host-` cookies under their
 * logical names (what every reader, e.g. `req.cookies[SESSION_COOKIE]`, asks for), and a
 * plain-named `eidp_session`/`eidp_csrf` is dropped: over https such a cookie was either set
 * before the prefix existed (the one consequence: a sign-in again after the upgrade) or
 * planted by another host, and must never be taken as ours.
 */
export function hostPrefixedCookies(secure: boolean): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    if (!secure) return next();
    const cookies = (req.cookies ?? {}) as Record<string, unknown>;
    for (const name of PREFIXED) {
      const value = cookies[`${HOST_PREFIX}${name}`];
      delete cookies[`${HOST_PREFIX}${name}`];
      if (value === undefined) delete cookies[name];
      else cookies[name] = value;
    }
    req.cookies = cookies;
    next();
  };
}
