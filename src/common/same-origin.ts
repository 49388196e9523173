import type { IncomingHttpHeaders } from 'node:http';

/**
 * The second wall against cross-site request forgery, beside the CSRF token: a state-changing
 * browser request must come from a page of our own origin (PUBLIC_URL's).
 *
 * - `Origin` (RFC 6454 §7; browsers send it on every POST): when it names an origin, it must be
 *   ours, exactly — a sibling subdomain is another origin.
 * - `Sec-Fetch-Site` (W3C Fetch Metadata), when sent: must be `same-origin` (or `none`: typed by
 *   the user). It also covers `Origin: null`, which pages served with `Referrer-Policy:
 *   no-referrer` (ours) and sandboxed frames (an attacker's) both send (Fetch §3.1,
 *   "serializing a request origin").
 * - Neither header: not a browser another site could lead here (curl, a server, a browser too
 *   old for both); the CSRF token alone decides.
 *
 * Returns null when the request may proceed, else where it came from, for the refusal.
 */
export function crossSiteSource(headers: IncomingHttpHeaders, publicUrl: string): string | null {
  const ours = new URL(publicUrl).origin;
  const origin = typeof headers.origin === 'string' ? headers.origin.trim() : undefined;
  if (origin && origin !== 'null' && origin.toLowerCase() !== ours) return origin;
  const site = typeof headers['sec-fetch-site'] === 'string' ? headers['sec-fetch-site'].trim().toLowerCase() : undefined;
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return `Sec-Fetch-Site: ${site}`;
  return null;
}

/** What a person reads when crossSiteSource refused their request. */
export function crossSiteMessage(source: string, publicUrl: string): string {
  return `This form was sent from another site (${source.slice(0, 200)}), not from ${new URL(publicUrl).origin}, so it was refused. Open the page at ${new URL(publicUrl).origin} and try again.`;
}
