import { Controller, Get, Post, Req, Res } from '@nestjs/common';
import type { Response } from 'express';
import { AuthenticatedRequest } from '../auth/auth.decorators';
import { Public, SESSION_COOKIE } from '../common/route-protection';
import { basePathOf, safeLocalPath } from '../common/redirects';
import { SessionsService } from '../auth/sessions.service';
import { InjectConfig } from '../config/config.module';
import { Config } from '../config/configuration';
import { Undocumented } from '../common/openapi';
import { handoffMeta, postedAssertion } from './handoff-request';
import { HandoffService } from './handoff.service';

/**
 * `/login/handoff?assertion=..&next=..` (GET, or POST as a form): a hand-off that only opens
 * a session, then goes to `next` — checked as the login page's continuation is (a path on
 * this service), else the signed-in page.
 *
 * Public, and the POST needs no CSRF token by construction: the only credential is the
 * assertion, signed by the host app and accepted once. A cross-site page cannot forge one,
 * and one it holds is spent by its first use. (Like any IdP-initiated sign-in, whoever holds
 * a valid assertion can spend it in another browser: the host app signs one per click, for
 * its signed-in user, with a 5-minute life.)
 */
@Undocumented('a browser sign-in: opens a session and redirects (303), refusals as HTML pages')
@Controller('login/handoff')
export class HandoffLoginController {
  private readonly defaultContinuation: string;

  constructor(
    private readonly handoff: HandoffService,
    private readonly sessions: SessionsService,
    @InjectConfig('app') private readonly app: Config<'app'>,
  ) {
    this.defaultContinuation = `${basePathOf(app.publicUrl)}/account`;
  }

  @Public()
  @Get()
  viaLink(@Req() req: AuthenticatedRequest, @Res() res: Response): Promise<void> {
    return this.signIn(req, res, req.query.assertion, req.query.next);
  }

  @Public()
  @Post()
  viaForm(@Req() req: AuthenticatedRequest, @Res() res: Response): Promise<void> {
    const body = (req.body ?? {}) as Record<string, unknown>;
    return this.signIn(req, res, postedAssertion(req), body.next ?? req.query.next);
  }

  private async signIn(req: AuthenticatedRequest, res: Response, assertion: unknown, next: unknown): Promise<void> {
    const { token } = await this.handoff.admit({ assertion, meta: handoffMeta(req), previousCookie: req.cookies?.[SESSION_COOKIE] });
    this.sessions.setCookie(res, token);
    // 303: the browser follows a POST with a GET.
    res.set('Cache-Control', 'no-store').redirect(303, safeLocalPath(next, this.app.publicUrl) ?? this.defaultContinuation);
  }
}
