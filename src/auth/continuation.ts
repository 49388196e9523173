/**
 * Where a visitor may be sent after login (`next`) or logout (`return_to`): only a path on
 * this service. Anything else is an open redirect (OWASP "Unvalidated Redirects and
 * Forwards"): an absolute URL, a scheme-relative `//evil.example`, or the browser-normalised
 * variants of it (`/\evil.example`, a tab or newline inside the scheme, `/.//evil.example`
 * which a URL parser folds into `//evil.example`).
 */
export const MAX_CONTINUATION_LENGTH = 2048;

/**
 * Returns the path (with its query and fragment) to redirect to, or null when `raw` is not a
 * safe path on the service at `publicUrl` (under its base path, if it has one). The result is the parser's normalised form, which
 * is what the browser will request — and it is checked again after normalisation.
 */
export function safeContinuation(raw: unknown, publicUrl: string): string | null {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_CONTINUATION_LENGTH) return null;
  // A single leading '/', then no second '/' or '\' (browsers treat '\' as '/' in http URLs).
  if (raw[0] !== '/' || raw[1] === '/' || raw[1] === '\\') return null;
  if (raw.includes('\\')) return null;
  // Control characters (and DEL): the WHATWG parser strips tabs/newlines, so "/\t/evil" would
  // become "//evil"; refuse them outright rather than reason about what survives.
  if (/[\u0000-\u001f\u007f]/.test(raw)) return null;

  let base: URL;
  let resolved: URL;
  try {
    base = new URL(`${publicUrl.replace(/\/+$/, '')}/`);
    resolved = new URL(raw, base);
  } catch {
    return null;
  }
  if (resolved.origin !== base.origin) return null;
  if (resolved.username || resolved.password) return null;
  // Under the service's base path (PUBLIC_URL https://host/idp: only /idp/...), not another
  // application that shares the host.
  if (!resolved.pathname.startsWith(base.pathname) && `${resolved.pathname}/` !== base.pathname) return null;
  const path = `${resolved.pathname}${resolved.search}${resolved.hash}`;
  // Dot segments can fold "/.//x" into "//x": a Location of that shape is scheme-relative.
  if (!path.startsWith('/') || path.startsWith('//') || path.startsWith('/\\')) return null;
  return path;
}

/**
 * The path PUBLIC_URL adds before this service's routes ('' at the root, '/idp' for
 * https://host/idp): the links and redirects the browser follows carry it, as the SSO routes'
 * `next` values do.
 */
export function basePathOf(publicUrl: string): string {
  return new URL(publicUrl).pathname.replace(/\/+$/, '');
}

/**
 * True when `raw` is an absolute URL on this service itself (same origin as PUBLIC_URL and
 * under its base path) — Sisense and other callers may send absolute return_to values.
 */
export function isOwnAbsoluteUrl(raw: unknown, publicUrl: string): boolean {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_CONTINUATION_LENGTH) return false;
  if (/[\u0000-\u001f\u007f\\]/.test(raw)) return false;
  try {
    const base = new URL(`${publicUrl.replace(/\/+$/, '')}/`);
    const u = new URL(raw);
    if (u.origin !== base.origin || u.username || u.password) return false;
    return u.pathname.startsWith(base.pathname) || `${u.pathname}/` === base.pathname;
  } catch {
    return false;
  }
}
