import type { Request, Response } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { forbidden } from '../common/errors';
import type { TargetSettings } from '../catalog/target.entity';
import { SsoError } from '../catalog/sso.errors';

/**
 * CORS for the JSON flows (a BI product's browser SDK fetches our endpoints from the host
 * app's origin, with credentials). The product's contract: "CORS with credentials for allow-listed
 * origins (never `*`)". With credentials the browser requires the exact origin echoed back
 * and Access-Control-Allow-Credentials: true; Vary: Origin keeps caches from mixing answers.
 * Which extra request headers an SDK sends is the product's business (its definition's
 * corsRequestHeaders); this file names no product.
 */
const BASE_HEADERS = ['Content-Type', 'X-Requested-With'];
const PREFLIGHT_MAX_AGE = '600';

function allowedOrigins(settings: TargetSettings): string[] {
  const v = settings.allowedOrigins;
  return Array.isArray(v) ? v.filter((o): o is string => typeof o === 'string') : [];
}

/**
 * Applies CORS headers to a JSON answer. A request without an Origin (same-origin fetch,
 * server-side caller) needs none. An Origin that is not allow-listed is refused before
 * anything is minted: the browser would hide the answer from that page anyway, and a token
 * minted for nobody is a token too many.
 */
export function applyCors(req: IncomingMessage, res: ServerResponse, settings: TargetSettings): void {
  res.setHeader('Vary', 'Origin');
  const origin = req.headers.origin;
  if (origin === undefined) {
    // A cross-site page can make the browser GET this with its cookies and no Origin (an
    // <img> or <script>: "no-cors"). It cannot read the answer, but it must not mint either.
    if (req.headers['sec-fetch-site'] === 'cross-site') {
      throw forbidden(SsoError.OriginNotAllowed, 'This origin may not use this target', 'cross-site request without an Origin');
    }
    return;
  }
  // Browsers send Origin on a same-origin POST too (Fetch §3.1); Sec-Fetch-Site, which no
  // page can set (W3C Fetch Metadata), says it is one of our own pages (e.g. a demo): no CORS.
  if (req.headers['sec-fetch-site'] === 'same-origin') return;
  if (!allowedOrigins(settings).includes(origin)) {
    throw forbidden(SsoError.OriginNotAllowed, 'This origin may not use this target', `origin ${origin} is not in allowedOrigins`);
  }
  res.setHeader('Access-Control-Allow-Origin', origin);
  res.setHeader('Access-Control-Allow-Credentials', 'true');
}

/** Answers an OPTIONS preflight: 204 for an allow-listed origin, 403 otherwise. */
export function answerPreflight(
  req: Request,
  res: Response,
  settings: TargetSettings,
  opts: { methods?: string[]; requestHeaders?: string[] } = {},
): void {
  const origin = req.headers.origin;
  res.setHeader('Vary', 'Origin');
  if (origin === undefined || !allowedOrigins(settings).includes(origin)) {
    throw forbidden(SsoError.OriginNotAllowed, 'This origin may not use this target', `preflight from ${origin ?? 'no origin'}`);
  }
  res.setHeader('Access-Control-Allow-Origin', origin);
  res.setHeader('Access-Control-Allow-Credentials', 'true');
  res.setHeader('Access-Control-Allow-Methods', [...(opts.methods ?? ['GET']), 'OPTIONS'].join(', '));
  res.setHeader('Access-Control-Allow-Headers', [...BASE_HEADERS, ...(opts.requestHeaders ?? [])].join(', '));
  res.setHeader('Access-Control-Max-Age', PREFLIGHT_MAX_AGE);
  res.status(204).end();
}
