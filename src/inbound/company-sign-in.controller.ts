import { Body, Controller, Get, Post, Query, Req, Res } from '@nestjs/common';
import type { Response } from 'express';
import type { AuthenticatedRequest } from '../auth/auth.decorators';
import { html } from '../common/html';
import { normaliseEmail } from '../common/identifiers';
import { renderPage, sendPage } from '../common/look';
import { Undocumented } from '../common/openapi';
import { basePathOf, safeLocalPath } from '../common/redirects';
import { Public } from '../common/route-protection';
import { InjectConfig } from '../config/config.module';
import { Config } from '../config/configuration';
import { SignInSources } from './sign-in-sources';

/**
 * Company sign-in's first step (README, "Company sign-in"): the work email, then home-realm
 * discovery — the sign-in sources (sources.ts) asked in turn with the email and the tenant
 * owning its domain; the first that takes it says where the browser goes (the tenant's own
 * identity provider; our password form last).
 */
@Undocumented('browser sign-in: the work email first, then the organization\'s identity provider or the password form (redirects)')
@Controller('login/company')
export class CompanySignInController {
  private readonly basePath: string;

  constructor(
    private readonly sources: SignInSources,
    @InjectConfig('app') private readonly app: Config<'app'>,
  ) {
    this.basePath = basePathOf(app.publicUrl);
  }

  @Public()
  @Get()
  showForm(@Query('next') next: unknown, @Res() res: Response): void {
    this.page(res, 200, { next: safeLocalPath(next, this.app.publicUrl), email: '' });
  }

  @Public()
  @Post()
  async start(@Req() req: AuthenticatedRequest, @Body() body: Record<string, unknown>, @Res() res: Response): Promise<void> {
    const next = safeLocalPath(body?.next, this.app.publicUrl);
    const email = typeof body?.email === 'string' ? normaliseEmail(body.email.slice(0, 254)) : '';
    if (!/^[^@\s]+@[^@\s]+$/.test(email)) return this.page(res, 400, { next, email, error: 'Enter your work email address.' });
    const to = await this.sources.discover(email, next, req, res);
    if (!to) return this.page(res, 400, { next, email, error: 'No way to sign in is set up for this email address.' });
    res.set('Cache-Control', 'no-store').redirect(303, to);
  }

  private page(res: Response, status: number, v: { next: string | null; email: string; error?: string }): void {
    sendPage(
      res,
      status,
      renderPage({
        title: 'Sign in with your organization',
        main: html`<h1>Sign in</h1>
<p>Enter your work email: if your organization signs you in with its own identity provider, you go there; otherwise to the password form.</p>
${v.error && html`<div class="alert" role="alert" id="form-error">${v.error}</div>`}
<form method="post" action="${this.basePath}/login/company">
${v.next && html`<input type="hidden" name="next" value="${v.next}">`}
<label for="email">Work email</label>
<input id="email" name="email" type="email" autocomplete="username" autocapitalize="none" spellcheck="false" maxlength="254" required autofocus value="${v.email}">
<button type="submit">Continue</button>
</form>
<p><a href="${this.basePath}/login${v.next ? `?next=${encodeURIComponent(v.next)}` : ''}">Sign in with a password instead</a></p>`,
      }),
    );
  }
}
