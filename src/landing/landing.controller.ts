import { Controller, Get, Res } from '@nestjs/common';
import type { Response } from 'express';
import { Public } from '../common/route-protection';
import { basePathOf } from '../common/redirects';
import { html } from '../common/html';
import { renderPage, sendPage } from '../common/look';
import { Undocumented } from '../common/openapi';
import { InjectConfig } from '../config/config.module';
import { Config } from '../config/configuration';

/**
 * GET / — what this service is, for a person who typed its address: a way to sign in, and
 * the admin API reference for operators. Names no tenant (an anonymous visitor must not learn
 * who the customers are).
 */
@Undocumented('HTML landing page, for browsers')
@Controller()
export class LandingController {
  private readonly html: ReturnType<typeof renderPage>;

  constructor(@InjectConfig('app') app: Config<'app'>) {
    const base = basePathOf(app.publicUrl);
    this.html = renderPage({
      title: 'Sign-in service for embedded analytics',
      mainClass: 'wide',
      main: html`<h1>Sign-in service for embedded analytics</h1>
<p>This service signs you in to the analytics dashboards built into the apps you use. You
usually arrive here from one of those dashboards, and it sends you back as soon as you are
signed in.</p>
<ul class="actions"><li><a class="button" href="${base}/login">Sign in</a></li></ul>
<p class="muted">Operators: the admin API is described at <a href="${base}/api/docs">${base}/api/docs</a>.</p>`,
      footer: 'embed-idp',
    });
  }

  @Public()
  @Get()
  show(@Res() res: Response): void {
    sendPage(res, 200, this.html);
  }
}
