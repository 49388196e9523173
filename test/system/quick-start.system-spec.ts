import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { jwtVerify } from 'jose';
import request from 'supertest';
import { randomToken } from '../../src/crypto/tokens';
import { createTestApp, TestApp } from '../setup/app';
import { CookieJar, signIn } from '../support/cookie-jar';

/**
 * The README's Quick start, run as written: the shell block is taken from
 * README.md and executed by bash against the service, with `npm` as a no-op (the service is
 * already up) and `openssl rand -hex 24` giving the admin key this app was started with. Then
 * what it tells the reader to do at the end is done: open the URL, sign in, and the
 * Metabase handshake signs the token with the printed secret.
 */
function quickStartScript(): string {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const section = readme.split(/^## Quick start\n/m)[1]?.split(/^## /m)[0];
  const block = section && /```sh\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error('README.md has no ```sh block under "## Quick start"');
  return block[1];
}

describe('README Quick start', () => {
  let t: TestApp;
  let base: string;
  const adminKey = randomToken(24);

  beforeAll(async () => {
    t = await createTestApp({ env: { BOOTSTRAP_ADMIN_KEY: adminKey } });
    base = await t.listen();
  });
  afterAll(async () => {
    await t.close();
  });

  it('has no placeholders to fill in', () => {
    expect(quickStartScript()).not.toMatch(/<[a-zA-Z][^>]*>/);
  });

  it('runs as written and ends with a URL where its user can sign in', async () => {
    const prelude = [
      'set -euo pipefail',
      'npm() { :; }',
      `openssl() { if [ "$*" = "rand -hex 24" ]; then echo "$QS_ADMIN_KEY"; else command openssl "$@"; fi; }`,
    ].join('\n');
    const script = quickStartScript().replaceAll('http://localhost:3000', base);
    const { stdout } = await promisify(execFile)('bash', ['-c', `${prelude}\n${script}`], {
      env: { PATH: process.env.PATH, QS_ADMIN_KEY: adminKey },
      timeout: 30_000,
    });

    const lines = stdout.trim().split('\n');
    const secret = /^Metabase JWT shared secret: ([0-9a-f]{64})$/.exec(lines[lines.length - 2])?.[1];
    const open = /^Open (\S+) and sign in as (\S+), password: (.+)$/.exec(lines[lines.length - 1]);
    expect(secret).toBeDefined();
    expect(open).not.toBeNull();
    const [, url, email, password] = open!;

    // The URL shows the sign-in page with the organization filled in.
    const page = new URL(url);
    expect(page.origin).toBe(base);
    const jar = new CookieJar();
    const form = jar.store(await jar.on(request(t.http).get(page.pathname + page.search)));
    expect(form.status).toBe(200);
    expect(form.text).toMatch(/id="tenant" name="tenant"[^>]*value="acme"/);

    // What to type there signs in, and the page says as whom.
    const tenant = page.searchParams.get('tenant')!;
    const login = await signIn(request(t.http), jar, { tenant, email, password });
    expect(login.status).toBe(303);
    const account = await jar.on(request(t.http).get(login.headers.location)).expect(200);
    expect(account.text).toContain('Signed in as');
    expect(account.text).toContain(email);
    expect(account.text).toContain('Acme Corp');

    // And the Metabase target works with the printed secret: the group mapping reached the token.
    const sso = await jar.on(request(t.http).get('/sso/mb?return_to=/')).expect(302);
    const jwt = new URL(sso.headers.location).searchParams.get('jwt')!;
    const { payload } = await jwtVerify(jwt, new TextEncoder().encode(secret), { algorithms: ['HS256'] });
    expect(payload).toMatchObject({ email, first_name: 'Ada', groups: ['Analysts'], region: 'emea', customer_id: 42 });
  });
});
