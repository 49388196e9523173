import type { IncomingHttpHeaders } from 'node:http';

/**
 * The second wall against cross-site request forgery, beside the CSRF token: a state-changing
 * browser request must come from a page of our own origin (PUBLIC_URL's).
 *
 * - `Origin` (RFC 6454 §7; browsers send it on every POST): when it names an origin, it must be
 *   ours, exactly — a sibling subdomain is another origin.
 * - `Sec-Fetch-Site` (W3C Fetch Metadata): consulted when Origin names none — pages served with
 *   `Referrer-Policy: no-referrer` post with `Origin: null` (Fetch §3.1, "serializing a
 *   request origin") — and then must be `same-origin` (or `none`: typed by the user).
 * - Neither header: not a browser that could be led by another site (curl, a server, a
 *   browser too old for both); the CSRF token alone decides.
 *
 * Returns null when the request may proceed, else what it came from, for the refusal.
 */
export function crossSiteSource(headers: IncomingHttpHeaders, publicUrl: string): string | null {
  const ours = new URL(publicUrl).origin;
  const origin = typeof headers.origin === 'string' ? headers.origin.trim() : undefined;
  if (origin && origin !== 'null') return origin.toLowerCase() === ours ? null : origin;
  const site = typeof headers['sec-fetch-site'] === 'string' ? headers['sec-fetch-site'].trim().toLowerCase() : undefined;
  if (site !== undefined) return site === 'same-origin' || site === 'none' ? null : `another site (Sec-Fetch-Site: ${site})`;
  return null;
}

/** What a person reads when crossSiteSource refused their request. */
export function crossSiteMessage(source: string, publicUrl: string): string {
  return `This form was sent from another site (${source.slice(0, 200)}), not from ${new URL(publicUrl).origin}, so it was refused. Open the page at ${new URL(publicUrl).origin} and try again.`;
}
