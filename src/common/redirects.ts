/**
 * Where this service may send a browser, and which URLs it may link to: the one place for
 * redirect safety. Anything else is an open redirect (OWASP "Unvalidated Redirects and
 * Forwards"): an absolute URL to another host, a scheme-relative `//evil.example`, or the
 * browser-normalised variants of it (`/\evil.example`, a tab or newline the WHATWG URL parser
 * strips, `/.//evil.example` which dot-segment removal folds into `//evil.example`).
 *
 * Used for login's `next`, logout's `return_to`, the BI products' `return_to`, the error
 * pages' "Try again", logout landing pages and branding links.
 */

import { ValidateBy } from 'class-validator';

/** Longer values are refused rather than truncated: a truncated path is a wrong page. */
export const MAX_REDIRECT_LENGTH = 2048;

/**
 * Never in a URL we redirect to or link to: whitespace, control characters and DEL (the URL
 * parser strips tabs and newlines, so "/\t/evil" becomes "//evil"; a raw CR/LF would split a
 * Location header), and '\' (browsers read it as '/' in http URLs, so "/\evil" is "//evil").
 */
const UNSAFE_CHARACTER = /[\s\u0000-\u001f\u007f\\]/;

/** A base for resolving a path when the caller has no PUBLIC_URL to keep to. */
const ANY_ORIGIN = 'https://local-path.invalid';

function plainString(raw: unknown): raw is string {
  return typeof raw === 'string' && raw.length > 0 && raw.length <= MAX_REDIRECT_LENGTH && !UNSAFE_CHARACTER.test(raw);
}

/**
 * `raw` as a path (with its query and fragment) on the same host, or null when it is not a
 * safe one. With `publicUrl`, the path must also lie under its base path (PUBLIC_URL
 * https://host/idp: only /idp/...), not another application that shares the host.
 *
 * The result is the parser's normalised form, which is what the browser will request, and it
 * is checked again after normalising because dot segments can fold "/.//x" into "//x".
 */
export function safeLocalPath(raw: unknown, publicUrl: string = ANY_ORIGIN): string | null {
  if (!plainString(raw)) return null;
  // A single leading '/', then no second '/' ('\' is refused above).
  if (raw[0] !== '/' || raw[1] === '/') return null;
  let base: URL;
  let resolved: URL;
  try {
    base = serviceRoot(publicUrl);
    resolved = new URL(raw, base);
  } catch {
    return null;
  }
  if (resolved.origin !== base.origin || resolved.username || resolved.password) return null;
  if (!underBasePath(resolved, base)) return null;
  const path = `${resolved.pathname}${resolved.search}${resolved.hash}`;
  if (!path.startsWith('/') || path.startsWith('//')) return null;
  return path;
}

/**
 * `raw` as an absolute http(s) URL without credentials (`https://user@host` reads as a
 * different host to a person), or null. The caller decides which origins it trusts.
 */
export function absoluteHttpUrl(raw: unknown): URL | null {
  if (!plainString(raw)) return null;
  try {
    const u = new URL(raw);
    if ((u.protocol !== 'https:' && u.protocol !== 'http:') || !u.hostname || u.username || u.password) return null;
    return u;
  } catch {
    return null;
  }
}

/** A body field that must pass `absoluteHttpUrl` (kept as sent; its users normalise it). */
export const IsHttpUrl = (message: string) =>
  ValidateBy({ name: 'isHttpUrl', validator: { validate: (value: unknown) => absoluteHttpUrl(value) !== null } }, { message });

/** `raw` as a normalised https URL (a logo, a support page), or null. */
export function httpsUrl(raw: unknown): string | null {
  const u = absoluteHttpUrl(raw);
  return u && u.protocol === 'https:' ? u.href : null;
}

/**
 * True when `raw` is an absolute URL on this service itself (same origin as PUBLIC_URL and
 * under its base path): Sisense and other callers may send absolute return_to values.
 */
export function isOwnAbsoluteUrl(raw: unknown, publicUrl: string): boolean {
  const u = absoluteHttpUrl(raw);
  if (!u) return false;
  const base = serviceRoot(publicUrl);
  return u.origin === base.origin && underBasePath(u, base);
}

/** The origin of a URL (scheme://host[:port]), or null when it is malformed. */
export function originOf(url: string): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

/**
 * The path PUBLIC_URL adds before this service's routes ('' at the root, '/idp' for
 * https://host/idp): the links and redirects the browser follows carry it.
 */
export function basePathOf(publicUrl: string): string {
  return new URL(publicUrl).pathname.replace(/\/+$/, '');
}

/** PUBLIC_URL with one trailing '/', so relative paths resolve under its base path. */
function serviceRoot(publicUrl: string): URL {
  return new URL(`${publicUrl.replace(/\/+$/, '')}/`);
}

function underBasePath(u: URL, base: URL): boolean {
  return u.pathname.startsWith(base.pathname) || `${u.pathname}/` === base.pathname;
}
