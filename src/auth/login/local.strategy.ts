import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import { Strategy } from 'passport-local';
import { LoginForm } from './login-form';
import { LoginService, VerifiedLogin } from './login.service';

export const LOCAL_STRATEGY = 'eidp-local';

/** The request after LoginFormGuard: its checked fields. */
export interface LoginRequest extends Request {
  loginForm?: LoginForm;
  user?: VerifiedLogin;
}

/**
 * passport-local reads `email` and `password` from the form; the checks themselves are
 * LoginService's (throttling, one argon2id verification, audit). It throws LoginRejected
 * rather than returning false, so the form is re-rendered with the right status.
 * LocalLoginGuard runs this instance directly (see there why not by its registered name).
 */
@Injectable()
export class LocalStrategy extends PassportStrategy(Strategy, LOCAL_STRATEGY) {
  constructor(private readonly login: LoginService) {
    super({ usernameField: 'email', passwordField: 'password', passReqToCallback: true });
  }

  async validate(req: LoginRequest): Promise<VerifiedLogin> {
    // LoginFormGuard ran first (CSRF, shapes) and left the normalised fields here.
    const form = req.loginForm;
    if (!form) throw new Error('LocalStrategy used without LoginFormGuard');
    return this.login.verify(form, {
      actor: 'anonymous',
      ip: req.ip ?? null,
      requestId: typeof req.id === 'string' ? req.id : null,
      userAgent: req.headers['user-agent'] ?? null,
    });
  }
}
