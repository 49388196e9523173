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


/** The login page and its form post. Browser routes: HTML, not part of the admin API docs. */
@Undocumented('HTML login page and its form post, for browsers')
@Controller()
@UseFilters(LoginFormFilter)
export class LoginController {
  /** Where a login goes when it has no (acceptable) continuation: the signed-in page. */
  private readonly defaultContinuation: string;

  constructor(
    private readonly pages: LoginPagesService,
    private readonly login: LoginService,
    private readonly sessions: SessionsService,
    @InjectConfig('app') app: Config<'app'>,
  ) {
    this.defaultContinuation = `${basePathOf(app.publicUrl)}/account`;
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
    const session = await this.login.startSession(req.user!, req.cookies?.[SESSION_COOKIE], {
      actor: 'anonymous',
      ip: req.ip ?? null,
      requestId: typeof req.id === 'string' ? req.id : null,
      userAgent: req.headers['user-agent'] ?? null,
    });
    this.sessions.setCookie(res, session.token);
    res.set('Cache-Control', 'no-store').redirect(303, req.loginForm?.next ?? this.defaultContinuation);
  }
}
