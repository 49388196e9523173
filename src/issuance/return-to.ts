/**
 * return_to: reading it off our SSO URL. Whether a value is safe to redirect to is decided in
 * common/redirects.ts.
 *
 * Metabase does not url-encode the path it appends (the product's contract: "a return path with its own
 * `?a=1&b=2` arrives split across our query string"): `/sso/x?return_to=/q/1?a=1&b=2` reaches
 * us as return_to=/q/1?a=1 and b=2. So return_to is rebuilt from the raw query string:
 * everything after the first `return_to=`, minus the few parameters that are ours.
 */

export interface SsoQuery {
  /** As received (rebuilt when split), undefined when absent. */
  returnTo?: string;
  /** `json` for the Metabase Embedding SDK (it appends `response=json` to the IdP URI). */
  response?: string;
  /** A tenant hint an operator may put in the IdP URI (`/sso/x?tenant=acme`) for the login page. */
  tenant?: string;
  /** A host app's signed hand-off (src/inbound): signs the visitor in before the handshake. */
  assertion?: string;
}

/**
 * Our own parameters. Before `return_to=` every parameter is ours (an operator's IdP URI
 * with `?tenant=..`, which Metabase extends with `&return_to=`); after it only `response`
 * is taken back, because the SDK appends `response=json` to whatever the URI already holds,
 * and `assertion`, which a host app may put after its return_to.
 */
const OURS_AFTER_RETURN_TO = ['response', 'assertion'];

/** Parses the query string of `originalUrl` (e.g. req.originalUrl), rebuilding return_to. */
export function parseSsoQuery(originalUrl: string): SsoQuery {
  const q = originalUrl.indexOf('?');
  if (q < 0) return {};
  const raw = originalUrl.slice(q + 1).split('#')[0];
  const out: SsoQuery = {};
  const start = raw.startsWith('return_to=') ? 0 : indexPlusOne(raw.indexOf('&return_to='));
  for (const [k, v] of pairs(start < 0 ? raw : raw.slice(0, Math.max(0, start - 1)))) take(out, k, v);
  if (start < 0) return out;

  const tail = raw.slice(start + 'return_to='.length).split('&');
  const kept = [tail[0]];
  for (const seg of tail.slice(1)) {
    const eq = seg.indexOf('=');
    const key = eq < 0 ? seg : seg.slice(0, eq);
    if (OURS_AFTER_RETURN_TO.includes(key)) take(out, key, eq < 0 ? '' : decode(seg.slice(eq + 1)));
    else kept.push(seg);
  }
  out.returnTo = decodeReturnTo(kept.join('&'));
  return out;
}

/** Position after the '&' found at i, or -1 when not found. */
function indexPlusOne(i: number): number {
  return i < 0 ? -1 : i + 1;
}

function pairs(s: string): [string, string | undefined][] {
  if (!s) return [];
  return s.split('&').map((seg) => {
    const eq = seg.indexOf('=');
    return eq < 0 ? [seg, ''] : [seg.slice(0, eq), decode(seg.slice(eq + 1))];
  });
}

/** Our parameters have plain ASCII names, so names are compared undecoded. */
function take(out: SsoQuery, key: string, value: string | undefined): void {
  if (value === undefined) return;
  if (key === 'response') out.response = value;
  else if (key === 'tenant') out.tenant = value;
  else if (key === 'assertion') out.assertion = value;
}

function decode(s: string): string | undefined {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/**
 * Metabase sends the path raw (it starts with '/'); a client that encodes it properly sends
 * `%2F...` or `http%3A...`. Decode only the second kind, once: decoding a raw path would turn
 * an encoded `%26` inside one of its values into a real `&` and change the page.
 */
function decodeReturnTo(v: string): string | undefined {
  if (/^(%2f|https?%3a)/i.test(v)) return decode(v);
  return v;
}
