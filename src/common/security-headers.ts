import type { NextFunction, Request, RequestHandler, Response } from 'express';
import helmet, { HelmetOptions } from 'helmet';
import { LOOK_STYLE_HASH } from './look-style';

/**
 * The one place that sets security headers, on every response (pages, error pages, JSON,
 * the API docs), before any handler, body parser or filter runs. Three surfaces:
 *
 * - flow: the browser flow BI tools show inside their iframes (/login, /logout, /account,
 *   /sso/*, /embed/*) — no X-Frame-Options and no frame-ancestors, because the customer
 *   origins embedding it cannot be listed. No form-action either: Chrome applies form-action
 *   to the redirects that follow a submission, and a login continues through /sso/* to the
 *   BI tool's own origin.
 * - docs: /api/docs (Swagger UI) loads its own scripts and inline styles from this origin.
 * - other: everything else (landing page, API, health, unknown paths) — also never framed.
 *
 * The page policy is `default-src 'none'`: no script at all; the one shared stylesheet is
 * allowed by its hash (CSP Level 2 hash-source). A page that shows third-party content (a
 * tenant's logo, BI logout frames) or a tenant's colours widens its own response's policy
 * through `widenCsp`, which re-serialises this same policy with those sources added.
 */
export type Surface = 'flow' | 'docs' | 'other';

const FLOW = /^\/(login|logout|account|sso|embed)(\/|$)/;

export function surfaceOf(path: string): Surface {
  if (FLOW.test(path)) return 'flow';
  if (path === '/api/docs' || path.startsWith('/api/docs/') || path.startsWith('/api/docs-')) return 'docs';
  return 'other';
}

/** What one response may add to its surface's policy. */
export interface CspExtras {
  /** 'sha256-…' sources of inline <style> blocks besides the shared one. */
  styleHashes?: string[];
  /** Origins of images (a tenant's logo). */
  imgOrigins?: string[];
  /** Origins of frames (BI logout URLs on the signed-out page). */
  frameOrigins?: string[];
  /**
   * The page loads our own scripts (the passkey pages: WebAuthn is a browser API, there is no
   * form for it): `script-src 'self'` and `connect-src 'self'` for their fetch calls.
   */
  ownScripts?: boolean;
}

type Directives = Record<string, string[]>;

function directives(surface: Surface, https: boolean, extra: CspExtras = {}): Directives {
  const d: Directives =
    surface === 'docs'
      ? {
          'default-src': ["'none'"],
          'script-src': ["'self'"],
          // Swagger UI's page carries inline <style> blocks and sets styles from its script.
          'style-src': ["'self'", "'unsafe-inline'"],
          'img-src': ["'self'", 'data:'],
          'connect-src': ["'self'"],
          'font-src': ["'self'"],
          'base-uri': ["'none'"],
          'form-action': ["'none'"],
        }
      : {
          'default-src': ["'none'"],
          'style-src': [LOOK_STYLE_HASH, ...(extra.styleHashes ?? [])],
          'img-src': ["'self'", ...(extra.imgOrigins ?? [])],
          'base-uri': ["'none'"],
        };
  if (extra.frameOrigins?.length) d['frame-src'] = [...extra.frameOrigins];
  if (extra.ownScripts && surface !== 'docs') {
    d['script-src'] = ["'self'"];
    d['connect-src'] = ["'self'"];
  }
  if (surface !== 'flow') d['frame-ancestors'] = ["'none'"];
  // Only when served over https: on http it would upgrade the form post to an https URL
  // nothing listens on.
  if (https) d['upgrade-insecure-requests'] = [];
  return d;
}

function helmetFor(surface: Surface, https: boolean, extra?: CspExtras): RequestHandler {
  const options: HelmetOptions = {
    contentSecurityPolicy: { useDefaults: false, directives: directives(surface, https, extra) },
    // The flow is framed by BI tools on origins we cannot list (see above); the rest never is.
    xFrameOptions: surface === 'flow' ? false : { action: 'deny' },
    // HSTS means something only over https (RFC 6797 §7.2: ignored on plain http).
    strictTransportSecurity: https ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    // Nothing here needs a Referer: the login form carries its CSRF token, BI tools are sent
    // their token in the URL.
    referrerPolicy: { policy: 'no-referrer' },
  };
  return helmet(options) as RequestHandler;
}

const STATE = Symbol('security-headers');

interface State {
  surface: Surface;
  https: boolean;
}

/** The middleware configureApp() registers first, for main.ts and the HTTP specs alike. */
export function securityHeaders(opts: { https: boolean }): RequestHandler {
  const bySurface: Record<Surface, RequestHandler> = {
    flow: helmetFor('flow', opts.https),
    docs: helmetFor('docs', opts.https),
    other: helmetFor('other', opts.https),
  };
  return (req: Request, res: Response, next: NextFunction) => {
    const surface = surfaceOf(req.path);
    (res.locals as Record<symbol, State>)[STATE] = { surface, https: opts.https };
    bySurface[surface](req, res, next);
  };
}

/**
 * The headers the middleware sets on a flow response, as a list computed once (helmet run
 * against a recording response), for the SSO fast path (sso-fast-path.ts), which answers
 * before Express: the same headers without running helmet's middleware chain per request.
 */
export function flowHeaders(opts: { https: boolean }): [string, string][] {
  const headers = new Map<string, string>();
  const recorder = {
    setHeader: (name: string, value: string | string[]) => headers.set(name, String(value)),
    removeHeader: (name: string) => headers.delete(name),
    getHeader: (name: string) => headers.get(name),
  };
  helmetFor('flow', opts.https)({} as Request, recorder as unknown as Response, () => undefined);
  return [...headers];
}

/**
 * Adds sources to this response's policy (and only this response's). Does nothing on a
 * response the middleware did not see.
 */
export function widenCsp(res: Response, extra: CspExtras): void {
  const state = (res.locals as Record<symbol, State | undefined>)[STATE];
  if (!state || res.headersSent) return;
  if (!extra.styleHashes?.length && !extra.imgOrigins?.length && !extra.frameOrigins?.length && !extra.ownScripts) return;
  const csp = helmet.contentSecurityPolicy({ useDefaults: false, directives: directives(state.surface, state.https, extra) });
  csp(res.req, res, () => undefined);
}
