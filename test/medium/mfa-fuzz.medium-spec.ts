import fc from 'fast-check';
import request from 'supertest';
import { SecretBox } from '../../src/crypto/secret-box';
import { totpSecretContext } from '../../src/mfa/mfa.entity';
import { makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { CookieJar, csrfFieldOf, signIn } from '../support/cookie-jar';

/**
 * Property-based fuzzing (fast-check, as fuzz.medium-spec.ts) of the two-step verification
 * forms and JSON bodies, with a real CSRF token so inputs reach the checks behind it: the
 * code forms (second step, authenticator confirmation) and the passkey answers. For every
 * input: no 5xx, no stack trace or internal path, and no session or factor created.
 * FUZZ_SEED and FUZZ_RUNS override the seed and the number of runs.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261204);
const RUNS = Number(process.env.FUZZ_RUNS ?? 25);
const PASSWORD = 'correct horse battery staple';
const INTERNALS = /\n\s+at |node_modules|\/src\/|\/work\/|QueryFailedError|TypeError|ReferenceError|\.ts:\d+/;

describe('fuzzing the two-step verification forms', () => {
  let t: TestApp;
  let verifyJar: CookieJar;
  let enrolJar: CookieJar;
  let verifyCsrf: string;
  let enrolCsrf: string;
  let counts: () => Promise<string>;

  beforeAll(async () => {
    // A lockout threshold the runs do not reach, so every input reaches the code checks.
    t = await createTestApp({ env: { LOGIN_LOCKOUT_THRESHOLD: '1000', LOGIN_ACCOUNT_ATTEMPT_LIMIT: '100000' } });
    const optional = await makeTenant(t.ds);
    const required = await makeTenant(t.ds);
    await t.ds.query(`UPDATE tenants SET mfa_policy = CASE WHEN id = $1 THEN 'optional' ELSE 'required' END WHERE id IN ($1, $2)`, [optional.id, required.id]);
    const a = await makeUser(t.ds, optional.id, { password: PASSWORD });
    const b = await makeUser(t.ds, required.id, { password: PASSWORD });
    // An authenticator for a (its secret never matters: no fuzzed code is expected to pass).
    const sealed = t.app.get(SecretBox).seal('JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP', totpSecretContext(a.id));
    await t.ds.query(`INSERT INTO mfa_totp (user_id, tenant_id, secret_enc, confirmed_at) VALUES ($1, $2, $3, now())`, [a.id, optional.id, sealed]);
    await t.ds.query(`INSERT INTO mfa_webauthn_credentials (id, user_id, tenant_id, public_key, name) VALUES ('cred-a', $1, $2, '\\x00', 'Key')`, [a.id, optional.id]);
    verifyJar = new CookieJar();
    await signIn(request(t.http), verifyJar, { tenant: optional.slug, email: a.email, password: PASSWORD });
    verifyCsrf = csrfFieldOf(verifyJar.store(await verifyJar.on(request(t.http).get('/login/mfa')).expect(200)).text);
    enrolJar = new CookieJar();
    await signIn(request(t.http), enrolJar, { tenant: required.slug, email: b.email, password: PASSWORD });
    const setup = enrolJar.store(await enrolJar.on(request(t.http).get('/login/mfa/setup')).expect(200));
    enrolCsrf = csrfFieldOf(setup.text);
    enrolJar.store(await enrolJar.on(request(t.http).post('/login/mfa/setup/totp')).type('form').send({ _csrf: enrolCsrf }).expect(200));
    counts = async () =>
      JSON.stringify(
        await t.ds.query(
          `SELECT (SELECT count(*) FROM sessions) s, (SELECT count(*) FROM mfa_totp WHERE confirmed_at IS NOT NULL) tt,
                  (SELECT count(*) FROM mfa_webauthn_credentials) w, (SELECT count(*) FROM mfa_recovery_codes) r`,
        ),
      );
  });
  afterAll(async () => {
    await t.close();
  });

  const value = fc.oneof(fc.string({ maxLength: 80 }), fc.constantFrom('', ' ', '000000', '12345', '1234567', 'AAAA-BBBB-CCCC-DDDD', '\u0000', '<script>'), fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }));

  function check(res: { status: number; text: string }) {
    expect(res.status).toBeGreaterThanOrEqual(300);
    expect(res.status).toBeLessThan(500);
    expect(res.text).not.toMatch(INTERNALS);
  }

  it.each([
    ['/login/mfa', () => verifyJar, () => verifyCsrf],
    ['/login/mfa/setup/totp/confirm', () => enrolJar, () => enrolCsrf],
  ])('%s: any form answers 4xx in words and signs nobody in', async (path, jar, csrf) => {
    const before = await counts();
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.constantFrom('code', 'factor', 'next', 'x', '_csrf'), value, { maxKeys: 4 }), fc.boolean(), async (fields, realToken) => {
        const body = realToken ? { ...fields, _csrf: csrf() } : fields;
        const res = await jar().on(request(t.http).post(path)).type('form').send(body as Record<string, string>);
        check(res);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    expect(await counts()).toBe(before);
  });

  it.each([
    ['/login/mfa/passkey', () => verifyJar, () => verifyCsrf],
    ['/login/mfa/setup/passkey', () => enrolJar, () => enrolCsrf],
  ])('%s: any JSON answer is refused in words, nothing stored', async (path, jar, csrf) => {
    const before = await counts();
    const credentialish = fc.record(
      {
        id: fc.oneof(fc.string({ maxLength: 20 }), fc.constant('cred-a')),
        rawId: fc.string({ maxLength: 20 }),
        type: fc.constantFrom('public-key', 'x'),
        response: fc.record({ clientDataJSON: fc.oneof(fc.base64String({ maxLength: 60 }), fc.jsonValue()), attestationObject: fc.base64String({ maxLength: 60 }), signature: fc.string() }, { requiredKeys: [] }),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue(), credentialish), fc.option(fc.string({ maxLength: 120 })), async (response, name) => {
        const res = await jar().on(request(t.http).post(path)).send({ _csrf: csrf(), response, name });
        check(res);
        expect(res.headers['content-type']).toMatch(/^application\/json/);
        expect(typeof JSON.parse(res.text).message).toBe('string');
      }),
      { seed: SEED, numRuns: RUNS },
    );
    expect(await counts()).toBe(before);
  });
});
