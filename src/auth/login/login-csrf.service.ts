import { Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { createHmac, hkdfSync } from 'node:crypto';
import { InjectConfig } from '../../config/config.module';
import { Config } from '../../config/configuration';
import { randomToken, safeEqual } from '../../crypto/tokens';
import { SessionsService } from '../sessions.service';

export const CSRF_COOKIE = 'eidp_csrf';
export const CSRF_FIELD = '_csrf';

/**
 * CSRF for the login form, which is shown before any session exists: a signed double-submit
 * token (OWASP CSRF Prevention Cheat Sheet, "Signed Double-Submit Cookie"). The cookie holds
 * a random value; the form's hidden field holds HMAC(key, value). An attacker can neither read
 * the HttpOnly cookie nor compute the HMAC without SECRETS_KEY, so a forged cross-site POST
 * (login CSRF: signing the victim in to the attacker's account) fails before the password
 * is even looked at.
 */
@Injectable()
export class LoginCsrfService {
  /** Derived once (RFC 5869 HKDF), so the CSRF key is not the key that seals target secrets. */
  private readonly key: Buffer;

  constructor(
    @InjectConfig('secrets') secrets: Config<'secrets'>,
    private readonly sessions: SessionsService,
  ) {
    this.key = Buffer.from(hkdfSync('sha256', secrets.key, Buffer.alloc(0), 'embed-idp login csrf v1', 32));
  }

  /**
   * The hidden-field value for this browser: the existing cookie is kept (so two open tabs
   * both work), a new one is set when there is none or it is malformed.
   */
  issue(req: Request, res: Response): string {
    let value = this.cookieValue(req);
    if (!value) {
      value = randomToken(32);
      // Same SameSite/Secure rules as the session cookie: the form must work inside BI iframes.
      const { maxAge: _maxAge, ...opts } = this.sessions.cookieOptions();
      res.cookie(CSRF_COOKIE, value, opts);
    }
    return this.sign(value);
  }

  /** True when the submitted field is the HMAC of this browser's cookie (constant-time compare). */
  verify(req: Request, submitted: unknown): boolean {
    const value = this.cookieValue(req);
    if (!value || typeof submitted !== 'string' || submitted.length > 100) return false;
    return safeEqual(this.sign(value), submitted);
  }

  private cookieValue(req: Request): string | undefined {
    const v: unknown = req.cookies?.[CSRF_COOKIE];
    return typeof v === 'string' && /^[A-Za-z0-9_-]{43}$/.test(v) ? v : undefined;
  }

  private sign(value: string): string {
    return createHmac('sha256', this.key).update(value, 'utf8').digest('base64url');
  }
}
