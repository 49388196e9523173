/**
 * The BI instance a base URL points at: its origin, scheme and host lower-cased and the
 * default port dropped (WHATWG URL does all three), so `HTTPS://BI.example.com:443/metabase/`
 * and `https://bi.example.com` are one instance — one user database keyed by email.
 * Null for what is not an absolute http(s) URL.
 */
export function biInstance(baseUrl: string): string | null {
  try {
    const u = new URL(baseUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
    return u.origin;
  } catch {
    return null;
  }
}

/** The domain part of an email (after the last '@'), lower-cased. */
export function emailDomain(email: string): string {
  return email.slice(email.lastIndexOf('@') + 1).toLowerCase();
}
