import { Controller, Get, Res } from '@nestjs/common';
import type { Response } from 'express';
import { Public } from '../common/route-protection';
import { basePathOf } from '../common/redirects';
import { html } from '../common/html';
import { renderPage, sendPage } from '../common/look';
import { Undocumented } from '../common/openapi';
import { InjectConfig } from '../config/config.module';
import { Config } from '../config/configuration';

const FAVICON = String(
  html`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#1f4e79"/><path d="M4 11V5h2v6zm3 0V8h2v3zm3 0V3h2v8z" fill="#fff"/></svg>`,
);

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
<p class="muted">Operators: the <a href="${base}/console">console</a> (organization <code>operators</code>); the admin API is described at <a href="${base}/api/docs">${base}/api/docs</a>.</p>`,
      footer: 'embed-idp',
    });
  }

  /**
   * Browsers ask for /favicon.ico on every page of the service; a 404 fills their console and
   * our logs. A tiny SVG mark (browsers read the type from Content-Type, not the name), cached a day.
   */
  @Public()
  @Get('favicon.ico')
  favicon(@Res() res: Response): void {
    res.set({ 'Content-Type': 'image/svg+xml', 'Cache-Control': 'public, max-age=86400' }).status(200).send(FAVICON);
  }

  @Public()
  @Get()
  show(@Res() res: Response): void {
    sendPage(res, 200, this.html);
  }
}
