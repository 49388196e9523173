import { Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { createHmac, hkdfSync } from 'node:crypto';
import { CSRF_COOKIE, wireCookieName } from '../../common/cookie-names';
import { InjectConfig } from '../../config/config.module';
import { Config } from '../../config/configuration';
import { randomToken, safeEqual } from '../../crypto/tokens';
import { SessionsService } from '../sessions.service';

export { CSRF_COOKIE } from '../../common/cookie-names';
export const CSRF_FIELD = '_csrf';

/**
 * What a token is for: signed in, so a token of one purpose is never the token of another
 * (a login page's token is refused by the console and the other way round).
 */
type Purpose = 'login' | 'console';

/**
 * CSRF tokens, HMAC-SHA256 under a key derived from SECRETS_KEY (OWASP CSRF Prevention Cheat
 * Sheet, "Signed Double-Submit Cookie" and "Synchronizer Token"), each bound to what an
 * attacker cannot get hold of:
 *
 * - The login form, shown before any session exists: bound to a random value in an HttpOnly
 *   cookie (the pre-session). There is no session to hijack; the token stops login CSRF
 *   (signing the victim in to the attacker's account) for anyone who cannot set that cookie.
 * - The console, acting with a session: bound to the session itself (its id, the SHA-256 of
 *   the session cookie's token). A cookie someone plants beside the session (a sibling
 *   subdomain, a plain-http hop) and a token they fetched for it on an anonymous login page
 *   are worth nothing here: the token the console accepts only comes from a page rendered for
 *   that very session.
 */
@Injectable()
export class LoginCsrfService {
  /** Derived once (RFC 5869 HKDF), so the CSRF key is not the key that seals target secrets. */
  private readonly key: Buffer;
  private readonly cookieName: string;

  constructor(
    @InjectConfig('secrets') secrets: Config<'secrets'>,
    @InjectConfig('app') app: Config<'app'>,
    private readonly sessions: SessionsService,
  ) {
    this.key = Buffer.from(hkdfSync('sha256', secrets.key, Buffer.alloc(0), 'embed-idp login csrf v1', 32));
    this.cookieName = wireCookieName(CSRF_COOKIE, app.secureCookies);
  }

  /**
   * The login form's hidden-field value for this browser: the existing cookie is kept (so two
   * open tabs both work), a new one is set when there is none or it is malformed.
   */
  forLoginForm(req: Request, res: Response): string {
    let value = this.cookieValue(req);
    if (!value) {
      value = randomToken(32);
      // Same SameSite/Secure rules as the session cookie: the form must work inside BI iframes.
      const { maxAge: _maxAge, ...opts } = this.sessions.cookieOptions();
      res.cookie(this.cookieName, value, opts);
    }
    return this.sign('login', value);
  }

  /** True when the submitted field is the login token of this browser's cookie (constant-time compare). */
  verifyLoginForm(req: Request, submitted: unknown): boolean {
    const value = this.cookieValue(req);
    return !!value && this.matches('login', value, submitted);
  }

  /** The console forms' token for one session (by its id). */
  forSession(sessionId: string): string {
    return this.sign('console', sessionId);
  }

  /** True when the submitted field is the console token of this session. */
  verifySession(sessionId: string | null | undefined, submitted: unknown): boolean {
    return !!sessionId && this.matches('console', sessionId, submitted);
  }

  private matches(purpose: Purpose, value: string, submitted: unknown): boolean {
    if (typeof submitted !== 'string' || submitted.length > 100) return false;
    return safeEqual(this.sign(purpose, value), submitted);
  }

  private cookieValue(req: Request): string | undefined {
    const v: unknown = req.cookies?.[CSRF_COOKIE];
    return typeof v === 'string' && /^[A-Za-z0-9_-]{43}$/.test(v) ? v : undefined;
  }

  /** HMAC over purpose and value, NUL-separated (neither contains a NUL), so no two inputs collide. */
  private sign(purpose: Purpose, value: string): string {
    return createHmac('sha256', this.key).update(`${purpose}\0${value}`, 'utf8').digest('base64url');
  }
}
