import { Controller, Get, Post, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import { Undocumented } from '../../common/openapi';
import { InjectConfig } from '../../config/config.module';
import { Config } from '../../config/configuration';
import { Public, SESSION_COOKIE } from '../../common/route-protection';
import { basePathOf, safeLocalPath } from '../../common/redirects';
import { isSlug } from '../../common/identifiers';
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
  private readonly publicUrl: string;

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
    this.publicUrl = app.publicUrl;
  }

  /**
   * The sign-in link of an organization that turned passwords off (company sign-in only)
   * starts at the email step, which sends its people to their IdP. Only then is `tenant`
   * looked up: that answer already tells the organization uses company sign-in (its password
   * form says so), while any other organization, known or not, gets the same page.
   */
  @Public()
  @Get('login')
  async showForm(@Req() req: LoginRequest, @Res() res: Response): Promise<void> {
    const q = req.query as Record<string, unknown>;
    if (typeof q.tenant === 'string' && isSlug(q.tenant.trim().toLowerCase())) {
      const tenant = await this.login.tenantBySlug(q.tenant.trim().toLowerCase());
      if (await this.login.passwordsRefused(tenant)) {
        const next = safeLocalPath(q.next, this.publicUrl);
        res.set('Cache-Control', 'no-store').redirect(303, `${this.basePath}/login/company${next ? `?${new URLSearchParams({ next })}` : ''}`);
        return;
      }
    }
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
