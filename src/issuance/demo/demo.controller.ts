import { Controller, Get, NotFoundException, Param, Req, Res } from '@nestjs/common';
import type { Response } from 'express';
import { createHash } from 'node:crypto';
import { AuthenticatedRequest, CurrentSession } from '../../auth/auth.decorators';
import { Public, LoadsSession } from '../../common/route-protection';
import type { SessionContext } from '../../auth/auth.types';
import { html, unsafeRaw } from '../../common/html';
import { requestMeta } from '../../common/request-meta';
import { badRequest, notFound } from '../../common/errors';

import { SsoService } from '../sso.service';
import { TARGET_DEFINITIONS, targetDefinition } from '../../products';
import { Undocumented } from '../../common/openapi';
import { SsoError } from '../../catalog/sso.errors';

const STYLE = `
body{margin:0;font-family:system-ui,sans-serif;background:#f4f5f7;color:#1d2330}
header{padding:1rem 1.5rem;background:#fff;box-shadow:0 1px 3px #0002}
h1{font-size:1.2rem;margin:0}
#status{margin:.4rem 0 0;color:#4a5365}
#status.error{color:#b3261e}
#dashboard,.embed{display:block;height:calc(100vh - 6rem);margin:1rem 1.5rem}
#dashboard iframe,.embed iframe{width:100%;height:100%;border:0;background:#fff;border-radius:.4rem}
iframe.embed{width:calc(100% - 3rem);border:0;background:#fff;border-radius:.4rem}
.card{margin:1rem 1.5rem;padding:.2rem 1.5rem;background:#fff;border-radius:.4rem;box-shadow:0 1px 3px #0002;overflow-wrap:anywhere}
`;
const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE, 'utf8').digest('base64')}'`;
// Safe unescaped: a constant of this file, and the page's CSP allows exactly this text by its hash.
const STYLE_MARKUP = unsafeRaw(STYLE);

/** Every product's demo scripts by file name (a name is served once: the first product's). */
function demoAssets(): Map<string, () => string> {
  const out = new Map<string, () => string>();
  for (const d of TARGET_DEFINITIONS) for (const [name, read] of Object.entries(d.demo?.assets ?? {})) if (!out.has(name)) out.set(name, read);
  return out;
}

/**
 * `/demo/<kind>/<target>/<resource>`: a page embedding a product the way a host app would,
 * with the vendor's SDK served from our origin (the product's `demo` in src/products/<kind>/
 * gives the content and scripts; this frame, its CSP and the sign-in come from here).
 */
@Undocumented('HTML demo pages and their scripts, for browsers')
@Controller('demo')
export class DemoController {
  private readonly assets = demoAssets();
  private readonly loaded = new Map<string, string>();

  constructor(private readonly sso: SsoService) {}

  @Get('assets/:file')
  @Public()
  asset(@Param('file') file: string, @Res() res: Response): void {
    const read = this.assets.get(file);
    if (!read) throw new NotFoundException();
    let body = this.loaded.get(file);
    if (body === undefined) {
      body = read();
      this.loaded.set(file, body);
    }
    res.status(200).set({ 'Cache-Control': 'public, max-age=3600', 'X-Content-Type-Options': 'nosniff' }).type('application/javascript').send(body);
  }

  @Get(':kind/:target/:resource')
  @LoadsSession()
  async page(
    @Param('kind') kind: string,
    @Param('target') slug: string,
    @Param('resource') resource: string,
    @CurrentSession() session: SessionContext | null,
    @Req() req: AuthenticatedRequest,
    @Res() res: Response,
  ): Promise<void> {
    const loaded = await this.sso.requireTarget(slug, session, requestMeta(req), { flow: 'embed' });
    const demo = targetDefinition(loaded.target.kind)?.demo;
    // A target of another product (or one without a demo) has nothing to show here.
    if (!demo || loaded.target.kind !== kind) throw notFound(SsoError.TargetNotFound, { target: slug });
    if (!demo.resource.test(resource)) throw badRequest(SsoError.InvalidId, `"${resource.slice(0, 40)}" is not something this demo can show`);
    const path = `/demo/${encodeURIComponent(kind)}/${encodeURIComponent(loaded.target.slug)}/${encodeURIComponent(resource)}`;
    if (!session) {
      res.redirect(302, this.sso.loginUrl(path, undefined));
      return;
    }
    const base = this.sso.loginUrl('', undefined).replace(/\/login\?.*$/, '');
    const target = { id: loaded.target.id, slug: loaded.target.slug, baseUrl: loaded.target.baseUrl, settings: loaded.target.settings };
    const framed = demo.frameOrigins(target);
    const origins = framed.join(' ') || "'none'";
    const connects = [...(demo.connectsToProduct ? framed : []), ...(demo.connectOrigins?.(target) ?? [])];
    const title = demo.title(resource);
    const page = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} demo</title>
<style>${STYLE_MARKUP}</style>
</head>
<body>
<header>
<h1>${title} <small>(target ${loaded.target.slug}, signed in as ${session.user.email})</small></h1>
<p id="status" role="status">Loading…</p>
</header>
${demo.body({ target, resource, base })}
<script type="module" src="${base}/demo/assets/${demo.script}"></script>
</body>
</html>
`;
    res
      .status(200)
      .set({
        'Cache-Control': 'no-store',
        'Content-Security-Policy': `default-src 'none'; script-src 'self'; connect-src ${['\'self\'', ...connects].join(' ')}; style-src ${STYLE_HASH}; frame-src ${origins}; base-uri 'none'`,
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'same-origin',
      })
      .type('html')
      .send(String(page));
  }
}
