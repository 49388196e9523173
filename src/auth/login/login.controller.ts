import { Controller, Get, Post, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import { Undocumented } from '../../common/openapi';
import { InjectConfig } from '../../config/config.module';
import { Config } from '../../config/configuration';
import { Public, SESSION_COOKIE } from '../../common/route-protection';
import { basePathOf } from '../../common/redirects';
import { SessionsService } from '../sessions.service';
import { LoginRequest } from './local.strategy';
import { LoginFormFilter } from './login-form.filter';
import { LocalLoginGuard, LoginFormGuard } from './login.guards';
import { LoginPagesService } from './login-pages.service';
import { LoginService } from './login.service';
import { setPendingCookie } from './mfa.controller';
import { MfaService } from '../../mfa/mfa.service';
import { AuditService } from '../../audit/audit.service';


/** The login page and its form post. Browser routes: HTML, not part of the admin API docs. */
@Undocumented('HTML login page and its form post, for browsers')
@Controller()
@UseFilters(LoginFormFilter)
export class LoginController {
  /** Where a login goes when it has no (acceptable) continuation: the signed-in page. */
  private readonly defaultContinuation: string;
  private readonly basePath: string;
  private readonly secureCookies: boolean;

  constructor(
    private readonly pages: LoginPagesService,
    private readonly login: LoginService,
    private readonly sessions: SessionsService,
    private readonly mfa: MfaService,
    private readonly audit: AuditService,
    @InjectConfig('app') app: Config<'app'>,
  ) {
    this.defaultContinuation = `${basePathOf(app.publicUrl)}/account`;
    this.basePath = basePathOf(app.publicUrl);
    this.secureCookies = app.secureCookies;
  }

  @Public()
  @Get('login')
  showForm(@Req() req: LoginRequest, @Res() res: Response): Promise<void> {
    return this.pages.showForm(req, res);
  }

  /**
   * CSRF and field checks (LoginFormGuard), then passport-local (LocalLoginGuard); by here the
   * credentials are good. 303 so the browser follows with a GET.
   */
  @Public()
  @Post('login')
  @UseGuards(LoginFormGuard, LocalLoginGuard)
  async submit(@Req() req: LoginRequest, @Res() res: Response): Promise<void> {
    const login = req.user!;
    const meta = { actor: 'anonymous', ip: req.ip ?? null, requestId: typeof req.id === 'string' ? req.id : null, userAgent: req.headers['user-agent'] ?? null };
    if (login.secondStep === 'verify' || login.secondStep === 'enrol') {
      // No session yet: a pending sign-in (README "Two-step verification") that nothing can
      // get a token with until its second step completes.
      const token = await this.mfa.createPending({
        userId: login.userId,
        tenantId: login.tenantId,
        accountKey: login.accountKey,
        purpose: login.secondStep,
        next: req.loginForm?.next ?? null,
        previousSessionId: SessionsService.idFromCookie(req.cookies?.[SESSION_COOKIE]),
      });
      await this.audit.record({ ...meta, actor: `user:${login.userId}` }, { type: 'login.second_step', tenantId: login.tenantId, details: { userId: login.userId, email: login.email, step: login.secondStep } });
      setPendingCookie(res, this.sessions, this.secureCookies, token);
      res.set('Cache-Control', 'no-store').redirect(303, `${this.basePath}/login/mfa${login.secondStep === 'enrol' ? '/setup' : ''}`);
      return;
    }
    const session = await this.login.startSession(login, req.cookies?.[SESSION_COOKIE], meta);
    this.sessions.setCookie(res, session.token);
    res.set('Cache-Control', 'no-store').redirect(303, req.loginForm?.next ?? this.defaultContinuation);
  }
}
