/*
 * Logins with a second step per second — TOTP, and a passkey — side by side with a
 * password-only login of the same run, with the same driver and concurrency.
 *
 *   npm run bench -- login-mfa        (BENCH_DURATION=10 BENCH_CONNECTIONS=16)
 *
 * One login is the whole exchange a browser makes, driven from this process with fetch (a
 * login with a second step is several requests, so autocannon's one-request loop does not fit):
 * - password only: POST /login (CSRF field and cookie, argon2id) -> 303 with the session;
 * - TOTP: POST /login -> 303 to the second step with the pending cookie; POST /login/mfa with
 *   the current code -> 303 with the session;
 * - passkey: POST /login; POST /login/mfa/passkey/options (the challenge); POST
 *   /login/mfa/passkey with an assertion signed here by a software authenticator (ES256 key
 *   pair; authenticatorData, clientDataJSON and the signature built as WebAuthn §6.3.3 and
 *   §7.2 say; @simplewebauthn/server verifies it in the service) -> the session.
 * A TOTP code is good once per user and time step (RFC 6238 §5.2), so every login uses a user
 * of its own (so do passkey logins, for the same database shape). TOTP secrets are sealed as
 * enrolment seals them (SecretBox, totpSecretContext); each passkey user's credential is
 * stored as registration stores it (the COSE public key). Figures are printed, not asserted,
 * with the load average (the machine is shared).
 */
import { generateSync } from 'otplib';
import { isoBase64URL, isoCBOR } from '@simplewebauthn/server/helpers';
import { createHash, generateKeyPairSync, KeyObject, randomBytes, sign } from 'node:crypto';
import * as os from 'node:os';
import { performance } from 'node:perf_hooks';
import { hash } from '@node-rs/argon2';
import { SecretBox } from '../src/crypto/secret-box';
import { totpSecretContext } from '../src/mfa/mfa.entity';
import { ARGON2_OPTIONS } from '../src/users/passwords.service';
import { printTable, runMain, sleep, startPostgres, startService } from './lib';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
/** Users per kind: more than one run can sign in (each TOTP user once per 30 s step). */
const USERS = Number(process.env.BENCH_USERS ?? 1500);
const PASSWORD = 'bench password, long enough 42';
const TOTP_SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

type Kind = 'password' | 'totp' | 'passkey';

/** Cookies as a browser keeps them (name -> value), from every Set-Cookie seen. */
class Jar {
  private readonly c = new Map<string, string>();
  constructor(init: string) {
    for (const part of init.split('; ')) this.c.set(part.split('=')[0], part.slice(part.indexOf('=') + 1));
  }
  take(r: Response): void {
    for (const line of r.headers.getSetCookie()) {
      const [pair] = line.split(';');
      this.c.set(pair.split('=')[0], pair.slice(pair.indexOf('=') + 1));
    }
  }
  has(name: string): boolean {
    return [...this.c.keys()].some((k) => k.endsWith(name));
  }
  header(): string {
    return [...this.c].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

/** A software authenticator: one ES256 key pair per user, assertions signed here. */
interface Passkey {
  id: Uint8Array<ArrayBuffer>;
  key: KeyObject;
  counter: number;
}

function coseOf(publicKey: KeyObject): Uint8Array {
  // COSE_Key for EC2 P-256 / ES256 (RFC 9053 §7.1.1, RFC 8152 §13.1.1): kty 2, alg -7, crv 1, x, y.
  const jwk = publicKey.export({ format: 'jwk' });
  return isoCBOR.encode(new Map<number, number | Uint8Array>([[1, 2], [3, -7], [-1, 1], [-2, isoBase64URL.toBuffer(jwk.x!)], [-3, isoBase64URL.toBuffer(jwk.y!)]]));
}

/** An assertion (WebAuthn §6.3.3): authenticatorData || SHA-256(clientDataJSON), signed with ES256 (DER). */
function assertion(pk: Passkey, challenge: string, origin: string, rpId: string) {
  pk.counter += 1;
  const clientDataJSON = Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge, origin, crossOrigin: false }));
  const authData = Buffer.alloc(37);
  createHash('sha256').update(rpId).digest().copy(authData, 0);
  authData[32] = 0x05; // UP | UV
  authData.writeUInt32BE(pk.counter, 33);
  const signature = sign('sha256', Buffer.concat([authData, createHash('sha256').update(clientDataJSON).digest()]), pk.key);
  const id = isoBase64URL.fromBuffer(pk.id);
  return {
    id,
    rawId: id,
    type: 'public-key',
    clientExtensionResults: {},
    response: {
      authenticatorData: isoBase64URL.fromBuffer(authData),
      clientDataJSON: isoBase64URL.fromBuffer(clientDataJSON),
      signature: isoBase64URL.fromBuffer(signature),
    },
  };
}

async function csrfPair(baseUrl: string): Promise<{ cookie: string; field: string }> {
  const r = await fetch(`${baseUrl}/login`);
  const html = await r.text();
  const cookie = /eidp_csrf=([^;]+)/.exec(r.headers.get('set-cookie') ?? '')?.[1];
  const field = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
  if (!cookie || !field) throw new Error('no CSRF pair on the login page');
  return { cookie: `eidp_csrf=${cookie}`, field };
}

async function main(): Promise<void> {
  const pg = await startPostgres();
  const secretsKey = randomBytes(32).toString('hex');
  const service = await startService({
    databaseUrl: pg.url,
    secretsKey,
    // One IP: lift the per-IP limits as bench/login.ts does; everything else as shipped.
    env: { DB_POOL_SIZE: '20', LOGIN_IP_LIMIT: '1000000', LOGIN_IP_ATTEMPT_LIMIT: '100000000', LOGIN_IP_CONCURRENCY: '100000' },
  });
  const base = service.baseUrl;
  const origin = new URL(base).origin;
  const rpId = new URL(base).hostname;
  try {
    const passwordHash = await hash(PASSWORD, ARGON2_OPTIONS);
    // MFA optional: users with a factor get the second step, the others sign in with the password only.
    const [tenant] = await pg.query(`INSERT INTO tenants (slug, name, mfa_policy) VALUES ('bench', 'Bench', 'optional') RETURNING id`);
    const users: Record<Kind, { id: string; email: string }[]> = { password: [], totp: [], passkey: [] };
    for (const kind of ['password', 'totp', 'passkey'] as Kind[]) {
      users[kind] = await pg.query(
        `INSERT INTO users (tenant_id, email, first_name, last_name, password_hash)
         SELECT $1, '${kind}' || i || '@example.com', 'Bench', 'User', $2 FROM generate_series(1, ${USERS}) i RETURNING id, email`,
        [tenant.id, passwordHash],
      );
    }
    const box = new SecretBox(Buffer.from(secretsKey, 'hex'));
    for (const u of users.totp) {
      await pg.query(`INSERT INTO mfa_totp (user_id, tenant_id, secret_enc, confirmed_at) VALUES ($1, $2, $3, now())`, [u.id, tenant.id, box.seal(TOTP_SECRET, totpSecretContext(u.id))]);
    }
    const passkeys = new Map<string, Passkey>();
    for (const u of users.passkey) {
      const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const pk: Passkey = { id: new Uint8Array(randomBytes(16)), key: privateKey, counter: 0 };
      passkeys.set(u.id, pk);
      await pg.query(`INSERT INTO mfa_webauthn_credentials (id, user_id, tenant_id, public_key, counter, transports, name) VALUES ($1, $2, $3, $4, 0, '{internal}', 'bench')`, [
        isoBase64URL.fromBuffer(pk.id),
        u.id,
        tenant.id,
        Buffer.from(coseOf(publicKey)),
      ]);
    }
    await pg.query('ANALYZE');
    const csrf = await csrfPair(base);

    /** One whole login; true when it ended with a session. */
    async function login(kind: Kind, user: { id: string; email: string }): Promise<boolean> {
      const jar = new Jar(csrf.cookie);
      const first = await fetch(`${base}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header() },
        body: new URLSearchParams({ _csrf: csrf.field, tenant: 'bench', email: user.email, password: PASSWORD }).toString(),
      });
      await first.arrayBuffer();
      jar.take(first);
      if (kind === 'password') return first.status === 303 && jar.has('eidp_session');
      if (first.status !== 303 || !jar.has('eidp_mfa')) return false;
      if (kind === 'totp') {
        const r = await fetch(`${base}/login/mfa`, {
          method: 'POST',
          redirect: 'manual',
          headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header() },
          body: new URLSearchParams({ _csrf: csrf.field, code: generateSync({ secret: TOTP_SECRET }) }).toString(),
        });
        await r.arrayBuffer();
        jar.take(r);
        return r.status === 303 && jar.has('eidp_session');
      }
      const json = (path: string, body: unknown) =>
        fetch(`${base}${path}`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/json', cookie: jar.header(), origin }, body: JSON.stringify(body) });
      const o = await json('/login/mfa/passkey/options', { _csrf: csrf.field });
      const { options } = (await o.json()) as { options?: { challenge: string } };
      if (o.status !== 200 || !options) return false;
      const r = await json('/login/mfa/passkey', { _csrf: csrf.field, response: assertion(passkeys.get(user.id)!, options.challenge, origin, rpId) });
      await r.arrayBuffer();
      jar.take(r);
      return r.status === 200 && jar.has('eidp_session');
    }

    // Sanity: one of each signs in (these users are not used again).
    for (const kind of ['password', 'totp', 'passkey'] as Kind[]) {
      if (!(await login(kind, users[kind].pop()!))) throw new Error(`a ${kind} login did not end with a session`);
    }

    /** CONNECTIONS workers, each signing in unused users one after the other, for `seconds`. */
    async function run(kind: Kind, seconds: number) {
      const pool = users[kind];
      const times: number[] = [];
      let failed = 0;
      let ran = 0;
      const t0 = performance.now();
      const end = t0 + seconds * 1000;
      await Promise.all(
        Array.from({ length: CONNECTIONS }, async () => {
          while (performance.now() < end) {
            const u = pool.pop();
            if (!u) break; // out of users: the run ends early (raise BENCH_USERS)
            const s = performance.now();
            const ok = await login(kind, u).catch(() => false);
            ran++;
            if (ok) times.push(performance.now() - s);
            else failed++;
          }
        }),
      );
      const elapsed = (performance.now() - t0) / 1000;
      const sorted = times.sort((a, b) => a - b);
      const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] : NaN);
      return { kind, ok: times.length, failed, ran, seconds: elapsed, rate: times.length / elapsed, p50: at(0.5), p99: at(0.99) };
    }

    // Warm-up (JIT, pools), not reported; then one run of each kind, in turn.
    for (const kind of ['password', 'totp', 'passkey'] as Kind[]) await run(kind, 2);
    await sleep(500);
    const loadBefore = os.loadavg()[0];
    const results = [];
    for (const kind of ['password', 'totp', 'passkey'] as Kind[]) {
      results.push(await run(kind, DURATION));
      await sleep(500);
    }
    const loadAfter = os.loadavg()[0];
    const password = results[0].rate;
    printTable(`Whole logins, ${CONNECTIONS} concurrent, ${DURATION} s each, one user per login`, results.map((r) => ({
      login: r.kind === 'password' ? 'password only (baseline)' : r.kind === 'totp' ? 'password + TOTP' : 'password + passkey (ES256)',
      'logins/s': r.rate,
      'vs password': `${(r.rate / password).toFixed(2)}x`,
      'p50 ms': r.p50,
      'p99 ms': r.p99,
      failed: r.failed,
    })));
    console.log(`\nload average (1 min) before the runs: ${loadBefore.toFixed(2)}, after: ${loadAfter.toFixed(2)} on ${os.cpus().length} cores`);
  } finally {
    await service.stop();
    await pg.stop();
  }
}

runMain(main);
