import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
  const opPassword = randomToken(12);
  const opEmail = /^OP_EMAIL=(\S+)/m.exec(quickStartScript())?.[1] ?? 'missing';

  beforeAll(async () => {
    // What `npm start` gets from the script: the admin key and the operator.
    t = await createTestApp({ env: { BOOTSTRAP_ADMIN_KEY: adminKey, BOOTSTRAP_OPERATOR_EMAIL: opEmail, BOOTSTRAP_OPERATOR_PASSWORD: opPassword } });
    base = await t.listen();
  });
  afterAll(async () => {
    await t.close();
  });

  it('has no placeholders to fill in, and no port but $PORT for the service', () => {
    expect(quickStartScript()).not.toMatch(/<[a-zA-Z][^>]*>/);
    expect(quickStartScript()).not.toContain('localhost:3000');
  });

  it('runs as written on another PORT, each answer on its own line, and ends with the console and a URL where its user can sign in', async () => {
    const prelude = [
      'set -euo pipefail',
      'npm() { :; }',
      `openssl() { case "$*" in "rand -hex 24") echo "$QS_ADMIN_KEY";; "rand -hex 12") echo "$QS_OP_PASSWORD";; *) command openssl "$@";; esac; }`,
    ].join('\n');
    const port = new URL(base).port;
    expect(port).not.toBe('3000');
    const { stdout } = await promisify(execFile)('bash', ['-c', `${prelude}\n${quickStartScript()}`], {
      env: { PATH: process.env.PATH, QS_ADMIN_KEY: adminKey, QS_OP_PASSWORD: opPassword, PORT: port },
      timeout: 30_000,
    });

    const lines = stdout.trim().split('\n');
    // Five API answers, one JSON object a line (not run together), then the blank line and the three lines.
    expect(lines.slice(0, 5).map((l) => l.startsWith('{') && l.endsWith('}'))).toEqual([true, true, true, true, true]);
    const secret = /^Metabase JWT shared secret: ([0-9a-f]{64})$/.exec(lines[lines.length - 3])?.[1];
    const consoleLine = /^Console: open (\S+) and sign in with organization operators, (\S+), password: (\S+)$/.exec(lines[lines.length - 2]);
    const open = /^Open (\S+) and sign in as (\S+), password: (.+)$/.exec(lines[lines.length - 1]);
    expect(secret).toBeDefined();
    expect(open).not.toBeNull();
    expect(consoleLine).not.toBeNull();
    const [, url, email, password] = open!;

    // The console line: its URL on this PORT, and what it says to type signs an operator in.
    expect(consoleLine![1]).toBe(`http://localhost:${port}/console`);
    const opJar = new CookieJar();
    const opLogin = await signIn(request(t.http), opJar, { tenant: 'operators', email: consoleLine![2], password: consoleLine![3] });
    expect(opLogin.status).toBe(303);
    const consolePage = await opJar.on(request(t.http).get('/console/tenants')).expect(200);
    expect(consolePage.text).toContain('Acme Corp');

    // The URL shows the sign-in page with the organization filled in.
    const page = new URL(url);
    expect(page.port).toBe(port);
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

  it('stops waiting when the service does not start, and shows the log line that says why', async () => {
    // Up to the end of the wait loop; `npm start` fails the way a taken port does (one line, exit 1).
    const waitPart = /^[\s\S]*?^until [\s\S]*?^done\b.*$/m.exec(quickStartScript())?.[0];
    expect(waitPart).toBeDefined();
    const why = 'embed-idp failed to start: PORT 1 is already in use (another embed-idp, or another server): stop what uses it, or set PORT to a free port (e.g. PORT=3000).';
    const dir = mkdtempSync(join(tmpdir(), 'quick-start-'));
    try {
      const { stdout } = await promisify(execFile)('bash', ['-c', `npm() { echo ${JSON.stringify(why)}; return 1; }\n${waitPart}`], {
        env: { PATH: process.env.PATH, PORT: '1' },
        cwd: dir,
        timeout: 15_000,
      });
      expect(stdout.trim()).toBe(why);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
