/**
 * A tiny cookie jar for supertest (or fetch): remembers what responses set, sends it back.
 * Enough for one origin — Path and Domain are kept for inspection but not matched, which is
 * right for this service (every cookie it sets has Path=/ and no Domain).
 *
 *   const jar = new CookieJar();
 *   const page = jar.store(await jar.on(request(t.http).get('/login')));
 *   jar.get('eidp_session'); jar.cookie('eidp_session')?.attributes.httponly;
 */
export interface StoredCookie {
  name: string;
  value: string;
  /** Lower-cased attribute names; flags (HttpOnly, Secure) map to true. */
  attributes: Record<string, string | true>;
}

type HeaderBag = Record<string, unknown> | { get(name: string): string | null; getSetCookie?: () => string[] };

export class CookieJar {
  private readonly cookies = new Map<string, StoredCookie>();

  /** Remembers the response's Set-Cookie headers (a Max-Age<=0 or past Expires deletes). Returns the response. */
  store<R extends { headers: HeaderBag }>(res: R): R {
    for (const line of setCookieLines(res.headers)) {
      const c = parseSetCookie(line);
      if (!c) continue;
      if (isExpired(c)) this.cookies.delete(c.name);
      else this.cookies.set(c.name, c);
    }
    return res;
  }

  /** Adds the Cookie header to a supertest request when the jar holds anything. */
  on<T extends { set(field: string, value: string): T }>(req: T): T {
    const h = this.header();
    return h ? req.set('Cookie', h) : req;
  }

  /** The Cookie request header value ('' when empty). */
  header(): string {
    return [...this.cookies.values()].map((c) => `${c.name}=${c.value}`).join('; ');
  }

  get(name: string): string | undefined {
    return this.cookies.get(name)?.value;
  }

  cookie(name: string): StoredCookie | undefined {
    return this.cookies.get(name);
  }

  set(name: string, value: string): void {
    this.cookies.set(name, { name, value, attributes: {} });
  }

  delete(name: string): void {
    this.cookies.delete(name);
  }

  clear(): void {
    this.cookies.clear();
  }

  names(): string[] {
    return [...this.cookies.keys()];
  }
}

/** The raw Set-Cookie lines of a supertest response (headers object) or a fetch Headers. */
export function setCookieLines(headers: HeaderBag): string[] {
  if (typeof (headers as { get?: unknown }).get === 'function') {
    const h = headers as { get(name: string): string | null; getSetCookie?: () => string[] };
    if (h.getSetCookie) return h.getSetCookie();
    const one = h.get('set-cookie');
    return one ? [one] : [];
  }
  const v = (headers as Record<string, unknown>)['set-cookie'];
  if (Array.isArray(v)) return v.map(String);
  return typeof v === 'string' ? [v] : [];
}

export function parseSetCookie(line: string): StoredCookie | undefined {
  const [pair, ...attrs] = line.split(';');
  const eq = pair.indexOf('=');
  if (eq <= 0) return undefined;
  const attributes: Record<string, string | true> = {};
  for (const a of attrs) {
    const i = a.indexOf('=');
    const k = (i < 0 ? a : a.slice(0, i)).trim().toLowerCase();
    if (k) attributes[k] = i < 0 ? true : a.slice(i + 1).trim();
  }
  return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attributes };
}

function isExpired(c: StoredCookie): boolean {
  const maxAge = c.attributes['max-age'];
  if (typeof maxAge === 'string' && Number(maxAge) <= 0) return true;
  const expires = c.attributes.expires;
  return typeof expires === 'string' && Date.parse(expires) <= Date.now();
}

/** The hidden CSRF field of a login page's HTML. */
export function csrfFieldOf(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error('no _csrf field on the page');
  return m[1];
}

/**
 * Signs in through the real form, as a browser would: GET /login (CSRF cookie + field), then
 * POST /login. Returns the POST's response (303 to the continuation on success); the jar
 * then holds the session cookie `eidp_session`.
 *
 *   const res = await signIn(request(t.http), jar, { tenant: 'acme', email, password });
 */
export async function signIn(
  agent: { get(url: string): any; post(url: string): any },
  jar: CookieJar,
  p: { tenant: string; email: string; password: string; next?: string },
): Promise<{ status: number; headers: Record<string, any>; text: string }> {
  const page = jar.store(await jar.on(agent.get('/login')));
  const form: Record<string, string> = { _csrf: csrfFieldOf(page.text), tenant: p.tenant, email: p.email, password: p.password };
  if (p.next !== undefined) form.next = p.next;
  return jar.store(await jar.on(agent.post('/login')).type('form').send(form));
}

/**
 * signIn over real HTTP (fetch) against a running service at `base` (another process, a
 * stopped Postgres): GET /login, then POST the form. Returns the POST's status and body, and
 * the session cookie (`eidp_session=...`) when one was set.
 */
export async function signInOver(
  base: string,
  p: { tenant: string; email: string; password: string; accept?: string },
): Promise<{ status: number; body: string; cookie?: string }> {
  const jar = new CookieJar();
  const page = jar.store(await fetch(`${base}/login`));
  const csrf = csrfFieldOf(await page.text());
  const res = jar.store(
    await fetch(`${base}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded', ...(p.accept ? { accept: p.accept } : {}) },
      body: new URLSearchParams({ _csrf: csrf, tenant: p.tenant, email: p.email, password: p.password }).toString(),
    }),
  );
  const session = jar.get('eidp_session');
  return { status: res.status, body: await res.text(), cookie: session ? `eidp_session=${session}` : undefined };
}
