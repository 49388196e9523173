import fc from 'fast-check';
import { makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { CookieJar, csrfFieldOf } from '../support/cookie-jar';

/**
 * Property-based fuzzing (fast-check, as fuzz.medium-spec.ts) of the account forms and pages:
 * "Forgot password?", setting a password from an invitation or reset link (with a real,
 * unspent token as well as junk), and the account page's password change (signed in, with
 * the real CSRF token as well as junk). For every input: no 5xx, nothing internal in the
 * body, an answer in bounded time, and on a 4xx nothing written but audit events and the
 * request counters. The console's invitation form likewise, as an operator. (The admin
 * API's invitation bodies are fuzzed by fuzz.medium-spec.ts, which finds every admin route.)
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261204);
const RUNS = Number(process.env.FUZZ_RUNS ?? 12);
const MAX_MS = 3_000;
const PASSWORD = 'correct horse battery staple';
const OP_EMAIL = 'op@platform.example';
const OP_PASSWORD = 'operator password 0001';
const INTERNALS = /\n\s+at |node_modules|\/src\/|\/work\/|QueryFailedError|TypeError|ReferenceError|\.ts:\d+/;

describe('fuzzing the account forms', () => {
  let t: TestApp;
  let base: string;
  let tokens: { invitation: string; reset: string };
  let counts: () => Promise<Record<string, number>>;
  const jar = new CookieJar();
  let loginCsrf: string;
  let accountCsrf: string;
  let tenantId: string;

  beforeAll(async () => {
    t = await createTestApp({ env: { BOOTSTRAP_OPERATOR_EMAIL: OP_EMAIL, BOOTSTRAP_OPERATOR_PASSWORD: OP_PASSWORD } });
    base = await t.listen();
    const tenant = await makeTenant(t.ds);
    tenantId = tenant.id;
    const user = await makeUser(t.ds, tenant.id, { email: 'fuzz@acme.test', password: PASSWORD });
    // Real tokens, so fuzzed passwords reach the policy: links made the way the service makes them.
    const { randomToken, sha256Hex } = await import('../../src/crypto/tokens');
    tokens = { invitation: randomToken(32), reset: randomToken(32) };
    for (const [purpose, token] of [['invitation', tokens.invitation], ['password_reset', tokens.reset]]) {
      await t.ds.query(
        `INSERT INTO account_links (tenant_id, user_id, purpose, token_hash, expires_at, created_by) VALUES ($1, $2, $3, $4, now() + interval '1 hour', 'test')`,
        [tenant.id, user.id, purpose, sha256Hex(token)],
      );
    }
    const tables: { name: string }[] = await t.ds.query(`SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' AND tablename NOT IN ('migrations', 'audit_events', 'login_throttles') ORDER BY 1`);
    const sql = tables.map((x) => `SELECT '${x.name}' AS name, count(*)::int AS n FROM "${x.name}"`).join(' UNION ALL ');
    counts = async () => Object.fromEntries(((await t.ds.query(sql)) as { name: string; n: number }[]).map((r) => [r.name, r.n]));
    loginCsrf = csrfFieldOf(await jar.store(await fetch(`${base}/login`)).text());
    const signedIn = jar.store(
      await fetch(`${base}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ _csrf: loginCsrf, tenant: tenant.slug, email: user.email, password: PASSWORD }).toString(),
      }),
    );
    expect(signedIn.status).toBe(303);
    accountCsrf = csrfFieldOf(await (await fetch(`${base}/account`, { headers: { cookie: jar.header() } })).text());
  });
  afterAll(() => t.close());

  const awkward = fc.oneof(
    fc.string(),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.constantFrom('\u0000', "' OR 1=1 --", '<script>x</script>', '__proto__', '%00', '\uD800', 'password1234', 'a'.repeat(300), 'x'.repeat(5000)),
  );
  const field = fc.oneof(awkward, fc.array(fc.string(), { maxLength: 3 }));

  it('form posts: no 5xx, nothing internal, bounded time, nothing but audit and counters written on a 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/login/forgot', '/account/invitation', '/account/reset', '/account/password'),
        fc.record(
          {
            _csrf: fc.oneof(fc.constant('LOGIN'), fc.constant('ACCOUNT'), field),
            token: fc.oneof(fc.constant('INVITATION'), fc.constant('RESET'), field),
            tenant: field,
            email: field,
            current: field,
            password: field,
            confirm: fc.oneof(fc.constant('SAME'), field),
          },
          { requiredKeys: [] },
        ),
        fc.constantFrom('application/x-www-form-urlencoded', 'application/json', 'text/plain'),
        fc.boolean(),
        async (path, raw, type, withCookies) => {
          const form: Record<string, unknown> = { ...raw };
          if (form._csrf === 'LOGIN') form._csrf = loginCsrf;
          if (form._csrf === 'ACCOUNT') form._csrf = accountCsrf;
          if (form.token === 'INVITATION') form.token = tokens.invitation;
          if (form.token === 'RESET') form.token = tokens.reset;
          if (form.confirm === 'SAME') form.confirm = form.password;
          const pairs: [string, string][] = Object.entries(form).flatMap(([k, v]): [string, string][] => (Array.isArray(v) ? v.map((x): [string, string] => [k, String(x)]) : [[k, String(v)]]));
          const body = type === 'application/json' ? JSON.stringify(form) : new URLSearchParams(pairs).toString();
          const before = await counts();
          const started = Date.now();
          const res = await fetch(`${base}${path}`, {
            method: 'POST',
            redirect: 'manual',
            headers: { 'content-type': type, accept: 'text/html', ...(withCookies ? { cookie: jar.header() } : {}) },
            body,
            signal: AbortSignal.timeout(20_000),
          });
          const text = await res.text();
          const ms = Date.now() - started;
          if (res.status >= 500 || INTERNALS.test(text) || ms > MAX_MS) throw new Error(`POST ${path}: ${res.status} in ${ms} ms: ${text.slice(0, 400)}`);
          if (res.status >= 400) expect(await counts()).toEqual(before);
        },
      ),
      { seed: SEED, numRuns: RUNS * 8, endOnFailure: true },
    );
  }, 300_000);

  it('the console\'s invitation form, as an operator: no 5xx, nothing internal, bounded time, nothing but audit written on a 4xx', async () => {
    const op = new CookieJar();
    const loginPage = op.store(await fetch(`${base}/login`));
    const signedIn = op.store(
      await fetch(`${base}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie: op.header(), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ _csrf: csrfFieldOf(await loginPage.text()), tenant: 'operators', email: OP_EMAIL, password: OP_PASSWORD }).toString(),
      }),
    );
    expect(signedIn.status).toBe(303);
    const consoleCsrf = csrfFieldOf(await (await fetch(`${base}/console/tenants/${tenantId}/invitations`, { headers: { cookie: op.header() } })).text());
    const seen: Record<number, number> = {};
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            _csrf: fc.oneof(fc.constant('CONSOLE'), field),
            email: fc.oneof(field, fc.emailAddress()),
            firstName: field,
            lastName: field,
            role: fc.oneof(fc.constantFrom('member', 'tenant_admin', 'operator'), field),
          },
          { requiredKeys: [] },
        ),
        fc.constantFrom('application/x-www-form-urlencoded', 'application/json', 'text/plain'),
        async (raw, type) => {
          const form: Record<string, unknown> = { ...raw };
          if (form._csrf === 'CONSOLE') form._csrf = consoleCsrf;
          const pairs: [string, string][] = Object.entries(form).flatMap(([k, v]): [string, string][] => (Array.isArray(v) ? v.map((x): [string, string] => [k, String(x)]) : [[k, String(v)]]));
          const body = type === 'application/json' ? JSON.stringify(form) : new URLSearchParams(pairs).toString();
          const before = await counts();
          const started = Date.now();
          const res = await fetch(`${base}/console/tenants/${tenantId}/invitations`, {
            method: 'POST',
            redirect: 'manual',
            headers: { 'content-type': type, accept: 'text/html', cookie: op.header() },
            body,
            signal: AbortSignal.timeout(20_000),
          });
          const text = await res.text();
          const ms = Date.now() - started;
          seen[res.status] = (seen[res.status] ?? 0) + 1;
          if (res.status >= 500 || INTERNALS.test(text) || ms > MAX_MS) throw new Error(`POST invitations: ${res.status} in ${ms} ms: ${text.slice(0, 400)}`);
          if (res.status >= 400) expect(await counts()).toEqual(before);
        },
      ),
      { seed: SEED, numRuns: RUNS * 4, endOnFailure: true },
    );
    // The inputs reached the service, not only the CSRF and field checks: some invitations were made.
    expect(Object.keys(seen).map(Number).some((status) => status < 400)).toBe(true);
  }, 300_000);

  it('link pages and the forgot page by query string: no 5xx, nothing internal, bounded time', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/account/invitation', '/account/reset', '/login/forgot'), fc.dictionary(fc.constantFrom('token', 'tenant', 'x'), fc.oneof(awkward, fc.constant(tokens.invitation))), async (path, query) => {
        const started = Date.now();
        const res = await fetch(`${base}${path}?${new URLSearchParams(query as Record<string, string>).toString()}`, { redirect: 'manual' });
        const text = await res.text();
        const ms = Date.now() - started;
        if (res.status >= 500 || INTERNALS.test(text) || ms > MAX_MS) throw new Error(`GET ${path}: ${res.status} in ${ms} ms: ${text.slice(0, 400)}`);
      }),
      { seed: SEED, numRuns: RUNS * 4, endOnFailure: true },
    );
  }, 300_000);
});
