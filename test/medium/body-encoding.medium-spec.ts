import { randomUUID } from 'node:crypto';
import { createTestApp, TestApp } from '../setup/app';
import { nestRoutes } from '../support/routes';

/**
 * Content-Encoding on request bodies (RFC 9110 §8.4): we inflate identity, gzip, deflate and br.
 * A body that claims one of those and does not decode is the sender's fault, a 400 that says
 * so; any other coding is a 415 naming the ones we take. Never a 500, on every POST route
 * (read from Nest's metadata, so a new route is covered), JSON or form, before any guard.
 */
describe('request bodies with a Content-Encoding', () => {
  let t: TestApp;
  let base: string;
  let posts: string[];
  const GARBAGE = Buffer.from('this is not compressed at all, just bytes that claim to be');

  beforeAll(async () => {
    t = await createTestApp();
    base = await t.listen();
    const id = randomUUID();
    posts = [...new Set(nestRoutes(t.app).filter((r) => r.method === 'POST').map((r) => r.path.replace(/:(\w+)/g, id)))];
  });
  afterAll(async () => {
    await t.close();
  });

  const TYPES = [
    ['json', 'application/json'],
    ['form', 'application/x-www-form-urlencoded'],
  ] as const;

  interface Case {
    path: string;
    type: string;
    encoding: string;
  }
  const cases = (encodings: string[]): Case[] =>
    posts.flatMap((path) => TYPES.flatMap(([, type]) => encodings.map((encoding) => ({ path, type, encoding }))));

  /** What came back, in one line per combination, so a failure lists every bad one at once. */
  async function send(c: Case): Promise<{ status: number; kind: string; code: string | null; text: string }> {
    const api = c.path.startsWith('/api/');
    const res = await fetch(`${base}${c.path}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': c.type, 'content-encoding': c.encoding, accept: api ? 'application/json' : 'text/html' },
      body: GARBAGE,
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    const kind = (res.headers.get('content-type') ?? '').split(';')[0];
    let code: string | null = null;
    if (kind === 'application/json') code = (JSON.parse(text) as { error?: string }).error ?? null;
    return { status: res.status, kind, code, text };
  }

  it('covers the POST routes', () => {
    expect(posts.length).toBeGreaterThan(15);
    expect(posts).toEqual(expect.arrayContaining(['/login', '/api/v1/tenants']));
  });

  it('gzip, deflate or br that does not decode: 400 "could not be decoded", JSON for the API, a page for a browser', async () => {
    const wrong: string[] = [];
    for (const c of cases(['gzip', 'deflate', 'br', 'GZip'])) {
      const r = await send(c);
      const api = c.path.startsWith('/api/');
      // The admin API refuses a form body for its type before reading it (415, naming JSON).
      const formToApi = api && c.type !== 'application/json';
      const expected = formToApi
        ? { status: 415, kind: 'application/json', code: 'unsupported_media_type' }
        : { status: 400, kind: api ? 'application/json' : 'text/html', code: api ? 'undecodable_body' : null };
      const got = { status: r.status, kind: r.kind, code: r.code };
      const says = formToApi || (api ? /could not be decoded as gzip|could not be decoded as deflate|could not be decoded as br/i : /could not read/i).test(r.text);
      if (JSON.stringify(got) !== JSON.stringify(expected) || !says) wrong.push(`${c.encoding} ${c.type} ${c.path}: ${JSON.stringify(got)} ${r.text.slice(0, 120)}`);
    }
    expect(wrong).toEqual([]);
  });

  it('an encoding we do not take (zstd, compress, two codings): 415 naming the ones we take', async () => {
    const wrong: string[] = [];
    for (const c of cases(['zstd', 'compress', 'gzip, br', 'x-gzip'])) {
      const r = await send(c);
      const api = c.path.startsWith('/api/');
      const expected = { status: 415, kind: api ? 'application/json' : 'text/html', code: api ? 'unsupported_content_encoding' : null };
      const got = { status: r.status, kind: r.kind, code: r.code };
      const says = api ? /identity, gzip, deflate or br/.test(r.text) : /cannot read/i.test(r.text);
      if (JSON.stringify(got) !== JSON.stringify(expected) || !says) wrong.push(`${c.encoding} ${c.type} ${c.path}: ${JSON.stringify(got)} ${r.text.slice(0, 120)}`);
    }
    expect(wrong).toEqual([]);
  });

  it('a body that does decode still works, and the decoded size is what the limit counts', async () => {
    const { gzipSync } = await import('node:zlib');
    const key = 'x'.repeat(32);
    const ok = await fetch(`${base}/api/v1/tenants`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', authorization: `Bearer ${key}` },
      body: gzipSync(JSON.stringify({ slug: 'gz', name: 'Gz' })),
    });
    // Decoded and parsed: the refusal is the missing credential, not the body.
    expect(ok.status).toBe(401);
    const bomb = await fetch(`${base}/api/v1/tenants`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(JSON.stringify({ slug: 'gz', name: 'a'.repeat(5_000_000) })),
    });
    expect(bomb.status).toBe(413);
  });
});
