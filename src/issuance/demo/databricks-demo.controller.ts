import { Controller, Get, Param, Req, Res } from '@nestjs/common';
import type { Response } from 'express';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { AuthenticatedRequest, CurrentSession } from '../../auth/auth.decorators';
import { Public, LoadsSession } from '../../common/route-protection';
import type { SessionContext } from '../../auth/auth.types';
import { html, unsafeRaw } from '../../common/html';
import { requestMeta } from '../../common/request-meta';
import { originOf } from '../../common/redirects';
import { notFound } from '../../common/errors';
import { SsoService } from '../sso.service';
import { targetDefinition } from '../../products';
import { DEMO_CLIENT_JS } from './databricks-demo.client';
import { Undocumented } from '../../common/openapi';
import { SsoError } from '../../catalog/sso.errors';

/** @databricks/aibi-client's ES module, served from our origin (no CDN: the page's CSP is 'self'). */
const AIBI_CLIENT = readFileSync(require.resolve('@databricks/aibi-client'), 'utf8');


const STYLE = `
body{margin:0;font-family:system-ui,sans-serif;background:#f4f5f7;color:#1d2330}
header{padding:1rem 1.5rem;background:#fff;box-shadow:0 1px 3px #0002}
h1{font-size:1.2rem;margin:0}
#status{margin:.4rem 0 0;color:#4a5365}
#status.error{color:#b3261e}
#dashboard{height:calc(100vh - 6rem);margin:1rem 1.5rem}
#dashboard iframe{width:100%;height:100%;border:0;background:#fff;border-radius:.4rem}
`;
const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE, 'utf8').digest('base64')}'`;
// Safe unescaped: a constant of this file, and the page's CSP allows exactly this text by its hash.
const STYLE_MARKUP = unsafeRaw(STYLE);

/**
 * `/demo/databricks/<target>/<dashboardId>`: a page that embeds a Databricks AI/BI dashboard
 * the way a host app would — @databricks/aibi-client, with the token from our broker
 * (`/embed/<target>/databricks/<id>/token`) and again from its getNewToken().
 */
@Undocumented('HTML demo page and its scripts, for browsers')
@Controller('demo')
export class DatabricksDemoController {
  constructor(private readonly sso: SsoService) {}

  @Get('databricks/:target/:dashboardId')
  @LoadsSession()
  async page(
    @Param('target') slug: string,
    @Param('dashboardId') dashboardId: string,
    @CurrentSession() session: SessionContext | null,
    @Req() req: AuthenticatedRequest,
    @Res() res: Response,
  ): Promise<void> {
    const loaded = await this.sso.requireTarget(slug, session, requestMeta(req), { flow: 'broker' });
    // A demo of the token broker: a target of another product has nothing to show here.
    if (!targetDefinition(loaded.target.kind)?.broker) throw notFound(SsoError.TargetNotFound, { target: slug });
    const path = `/demo/databricks/${encodeURIComponent(loaded.target.slug)}/${encodeURIComponent(dashboardId)}`;
    if (!session) {
      res.redirect(302, this.sso.loginUrl(path, undefined));
      return;
    }
    const base = this.sso.loginUrl('', undefined).replace(/\/login\?.*$/, '');
    const tokenUrl = `${base}/embed/${encodeURIComponent(loaded.target.slug)}/databricks/${encodeURIComponent(dashboardId)}/token`;
    const workspace = originOf(loaded.target.baseUrl) ?? "'none'";
    const page = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Databricks dashboard demo</title>
<style>${STYLE_MARKUP}</style>
</head>
<body>
<header>
<h1>Databricks dashboard ${dashboardId} <small>(target ${loaded.target.slug}, signed in as ${session.user.email})</small></h1>
<p id="status" role="status">Loading…</p>
</header>
<div id="dashboard" data-token-url="${tokenUrl}"></div>
<script type="module" src="${base}/demo/assets/databricks-demo.js"></script>
</body>
</html>
`;
    res
      .status(200)
      .set({
        'Cache-Control': 'no-store',
        'Content-Security-Policy': `default-src 'none'; script-src 'self'; connect-src 'self'; style-src ${STYLE_HASH}; frame-src ${workspace}; base-uri 'none'`,
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'same-origin',
      })
      .type('html')
      .send(String(page));
  }

  @Get('assets/aibi-client.js')
  @Public()
  aibiClient(@Res() res: Response): void {
    sendScript(res, AIBI_CLIENT);
  }

  @Get('assets/databricks-demo.js')
  @Public()
  demoClient(@Res() res: Response): void {
    sendScript(res, DEMO_CLIENT_JS);
  }
}

function sendScript(res: Response, body: string): void {
  res.status(200).set({ 'Cache-Control': 'public, max-age=3600', 'X-Content-Type-Options': 'nosniff' }).type('application/javascript').send(body);
}
