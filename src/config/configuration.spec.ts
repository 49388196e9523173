import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, KNOWN_ENV_VARS, parseEnv, parseTrustProxy } from './configuration';

/** The problems parseEnv reports for `env` (it throws once, listing every bad variable). */
function problems(env: Record<string, string>): string[] {
  try {
    parseEnv(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe('parseEnv', () => {
  let dataDir: string;
  const KEY = randomBytes(32).toString('hex');
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'embed-idp-config-'));
  });
  afterEach(() => {
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  const base = () => ({ DATA_DIR: dataDir, SECRETS_KEY: KEY });

  it('WORKERS: 1 by default, 1..64, and more than one only with DATABASE_URL', () => {
    expect(parseEnv(base()).app.workers).toBe(1);
    expect(parseEnv({ ...base(), WORKERS: '4', DATABASE_URL: 'postgres://u:p@db/idp' }).app.workers).toBe(4);
    expect(parseEnv({ ...base(), WORKERS: '64', DATABASE_URL: 'postgres://u:p@db/idp' }).app.workers).toBe(64);
    for (const bad of ['0', '65', 'two', '-1', '1.5']) {
      expect(problems({ ...base(), WORKERS: bad, DATABASE_URL: 'postgres://u:p@db/idp' })).toEqual([`WORKERS: must be a whole number from 1 to 64 (got "${bad}")`]);
    }
    expect(problems({ ...base(), WORKERS: '2' })).toEqual([expect.stringMatching(/^WORKERS: more than 1 needs DATABASE_URL/)]);
  });

  it('accepts a complete production configuration', () => {
    const c = parseEnv({
      NODE_ENV: 'production',
      PORT: '8080',
      PUBLIC_URL: 'https://idp.example.com/base/',
      DATABASE_URL: 'postgres://u:p@db:5432/idp',
      SECRETS_KEY: KEY,
      BOOTSTRAP_ADMIN_KEY: 'b'.repeat(12) + randomBytes(12).toString('hex'),
      TRUST_PROXY: '1',
      DATA_DIR: dataDir,
    });
    expect(c.app).toMatchObject({ nodeEnv: 'production', port: 8080, publicUrl: 'https://idp.example.com/base', secureCookies: true, trustProxy: 1 });
    expect(c.secrets.key.equals(Buffer.from(KEY, 'hex'))).toBe(true);
    expect(c.database.url).toBe('postgres://u:p@db:5432/idp');
    // Defaults: migrations at start, no pooler.
    expect(c.database).toMatchObject({ migrateOnStart: true, directUrl: undefined });
    // No key file is written when SECRETS_KEY is given.
    expect(fs.existsSync(path.join(dataDir, 'secrets.key'))).toBe(false);
  });

  it('reads the pooler set-up: DATABASE_DIRECT_URL beside DATABASE_URL, MIGRATE_ON_START=off', () => {
    const c = parseEnv({ ...base(), DATABASE_URL: 'postgres://u:p@pgbouncer:6432/idp', DATABASE_DIRECT_URL: 'postgres://u:p@db:5432/idp', MIGRATE_ON_START: 'off' });
    expect(c.database).toMatchObject({ url: 'postgres://u:p@pgbouncer:6432/idp', directUrl: 'postgres://u:p@db:5432/idp', migrateOnStart: false });
  });

  it.each([
    [{ PORT: 'abc' }, /^PORT: must be a whole number from 0 to 65535 \(got "abc"\)$/],
    [{ PORT: '70000' }, /^PORT: /],
    [{ PUBLIC_URL: 'idp.example.com' }, /^PUBLIC_URL: must be an absolute http\(s\) URL/],
    [{ PUBLIC_URL: 'ftp://idp.example.com' }, /^PUBLIC_URL: /],
    [{ PUBLIC_URL: 'https://idp.example.com/?x=1' }, /^PUBLIC_URL: /],
    [{ DATABASE_URL: 'mysql://u:p@db/idp' }, /^DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL$/],
    [{ DATABASE_URL: 'not a url' }, /^DATABASE_URL: /],
    [{ DATABASE_URL: 'postgres://u:p@pooler/idp', DATABASE_DIRECT_URL: 'mysql://db' }, /^DATABASE_DIRECT_URL: must be a postgres:\/\/ or postgresql:\/\/ URL$/],
    [{ DATABASE_DIRECT_URL: 'postgres://u:p@db/idp' }, /^DATABASE_DIRECT_URL: set DATABASE_URL too/],
    [{ MIGRATE_ON_START: 'sometimes' }, /^MIGRATE_ON_START: must be on or off \(got "sometimes"\)$/],
    [{ NODE_ENV: 'staging' }, /^NODE_ENV: /],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL: /],
    [{ TRUST_PROXY: 'maybe' }, /^TRUST_PROXY: must be false, a number of proxies, or .*\(not understood: "maybe"\)$/],
    [{ TRUST_PROXY: 'true' }, /^TRUST_PROXY: "true" would trust every X-Forwarded-For entry, which clients can forge; give the number of proxies/],
    [{ TRUST_PROXY: 'yes' }, /^TRUST_PROXY: "true" would trust every/],
    [{ TRUST_PROXY: '11' }, /^TRUST_PROXY: a hop count must be from 0 to 10/],
    [{ TRUST_PROXY: '10.0.0.0/33' }, /^TRUST_PROXY: .*not understood: "10.0.0.0\/33"/],
    [{ TRUST_PROXY: 'loopback, 10.0.0.300' }, /^TRUST_PROXY: .*not understood: "10.0.0.300"/],
    [{ BOOTSTRAP_ADMIN_KEY: 'too-short' }, /^BOOTSTRAP_ADMIN_KEY: must be at least 24 characters$/],
    [{ SESSION_IDLE_TIMEOUT: '7200', SESSION_ABSOLUTE_TIMEOUT: '3600' }, /^SESSION_ABSOLUTE_TIMEOUT: must not be shorter/],
  ])('names the bad variable: %j', (env, message) => {
    const found = problems({ ...base(), ...env });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(message);
  });

  // Express's `trust proxy` forms: never `true`, which trusts what clients write.
  it.each<[string | undefined, unknown]>([
    [undefined, false],
    ['false', false],
    ['0', false],
    ['1', 1],
    ['2', 2],
    ['loopback', ['loopback']],
    ['loopback, 10.0.0.0/8,fd00::/8', ['loopback', '10.0.0.0/8', 'fd00::/8']],
    ['uniquelocal,linklocal', ['uniquelocal', 'linklocal']],
    ['127.0.0.1, ::1, 172.16.0.0/12, 192.168.10.0/24, 100.64.0.0/10, 169.254.0.0/16, fe80::/10, fc00::/7', ['127.0.0.1', '::1', '172.16.0.0/12', '192.168.10.0/24', '100.64.0.0/10', '169.254.0.0/16', 'fe80::/10', 'fc00::/7']],
    ['::ffff:10.1.2.3, ::ffff:10.0.0.0/104', ['::ffff:10.1.2.3', '::ffff:10.0.0.0/104']],
  ])('TRUST_PROXY=%j -> %j', (raw, expected) => {
    const problems: string[] = [];
    expect(parseTrustProxy(raw, problems)).toEqual(expected);
    expect(problems).toEqual([]);
  });

  // Trusting a public range lets anyone in it write the client IP (the per-IP login limit and
  // the audit's ip): only with TRUST_PROXY_ALLOW_PUBLIC=true, said on purpose.
  it.each([
    ['0.0.0.0/1,128.0.0.0/1,::/1,8000::/1', '"0.0.0.0/1", "128.0.0.0/1", "::/1", "8000::/1"'],
    ['192.0.2.1', '"192.0.2.1"'],
    ['loopback, 10.0.0.0/7', '"10.0.0.0/7"'],
    ['172.0.0.0/8', '"172.0.0.0/8"'],
    ['100.0.0.0/8', '"100.0.0.0/8"'],
    ['fc00::/6', '"fc00::/6"'],
    ['::ffff:0.0.0.0/96', '"::ffff:0.0.0.0/96"'],
    ['::ffff:10.0.0.0/90', '"::ffff:10.0.0.0/90"'],
    ['2001:db8::1', '"2001:db8::1"'],
  ])('TRUST_PROXY=%j is public: refused in one line naming the entries and TRUST_PROXY_ALLOW_PUBLIC', (raw, named) => {
    const found = problems({ ...base(), TRUST_PROXY: raw });
    expect(found).toEqual([expect.stringMatching(/^TRUST_PROXY: /)]);
    expect(found[0]).toContain(`outside private networks: ${named}`);
    expect(found[0]).toContain('TRUST_PROXY_ALLOW_PUBLIC=true');
    expect(found[0]).not.toContain('\n');
    const allowed = parseEnv({ ...base(), TRUST_PROXY: raw, TRUST_PROXY_ALLOW_PUBLIC: 'true' });
    expect(allowed.app.trustProxy).toEqual(raw.split(',').map((e) => e.trim()));
  });

  // What proxy-addr (Express's `trust proxy`) would throw on at start, refused at parse instead.
  it.each(['0.0.0.0/0', '::/0', '10.0.0.0/0', '10.0.0.1/255.0.0.0', 'loopback/8', ''])(
    'TRUST_PROXY=%j: one line, even with TRUST_PROXY_ALLOW_PUBLIC=true',
    (raw) => {
      const found = problems({ ...base(), TRUST_PROXY: `loopback,${raw}`, TRUST_PROXY_ALLOW_PUBLIC: 'true' });
      expect(found).toEqual([expect.stringMatching(/^TRUST_PROXY: .*not understood/)]);
    },
  );

  it('TRUST_PROXY_ALLOW_PUBLIC takes true or false only', () => {
    expect(problems({ ...base(), TRUST_PROXY: 'loopback', TRUST_PROXY_ALLOW_PUBLIC: 'maybe' })).toEqual([expect.stringMatching(/^TRUST_PROXY_ALLOW_PUBLIC: /)]);
  });

  it('refuses a short or placeholder SECRETS_KEY without echoing it', () => {
    const short = 'abcdef0123456789';
    const [p1] = problems({ DATA_DIR: dataDir, SECRETS_KEY: short });
    expect(p1).toMatch(/^SECRETS_KEY: must be 32 random bytes/);
    expect(p1).not.toContain(short);
    expect(problems({ DATA_DIR: dataDir, SECRETS_KEY: 'changeme' })).toEqual([expect.stringMatching(/^SECRETS_KEY: /)]);
    expect(problems({ DATA_DIR: dataDir, SECRETS_KEY: '0'.repeat(64) })).toEqual([expect.stringMatching(/^SECRETS_KEY: is a placeholder/)]);
    expect(problems({ DATA_DIR: dataDir, SECRETS_KEY: 'A'.repeat(43) + '=' })).toEqual([expect.stringMatching(/^SECRETS_KEY: is a placeholder/)]);
    // base64 of 32 random bytes is accepted as well as hex.
    expect(problems({ DATA_DIR: dataDir, SECRETS_KEY: randomBytes(32).toString('base64') })).toEqual([]);
  });

  it('lists every bad variable at once', () => {
    const found = problems({ ...base(), PORT: 'x', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://db' });
    expect(found.map((p) => p.split(':')[0]).sort()).toEqual(['DATABASE_URL', 'LOG_LEVEL', 'PORT']);
  });

  it('refuses production without SECRETS_KEY or PUBLIC_URL, and writes no key file', () => {
    const found = problems({ NODE_ENV: 'production', DATA_DIR: dataDir, DATABASE_URL: 'postgres://db/idp' });
    expect(found).toEqual(
      expect.arrayContaining([expect.stringMatching(/^SECRETS_KEY: is required in production/), expect.stringMatching(/^PUBLIC_URL: is required in production/)]),
    );
    expect(fs.existsSync(path.join(dataDir, 'secrets.key'))).toBe(false);
  });

  it('outside production generates a key once under DATA_DIR (mode 0600) and reuses it', () => {
    const first = parseEnv({ NODE_ENV: 'development', DATA_DIR: dataDir });
    const file = path.join(dataDir, 'secrets.key');
    expect(first.secrets.key).toHaveLength(32);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const second = parseEnv({ NODE_ENV: 'development', DATA_DIR: dataDir });
    expect(second.secrets.key.equals(first.secrets.key)).toBe(true);
    const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'embed-idp-config-'));
    try {
      expect(parseEnv({ NODE_ENV: 'test', DATA_DIR: elsewhere }).secrets.key.equals(first.secrets.key)).toBe(false);
    } finally {
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('refuses a corrupt key file rather than replacing it (data sealed under it would be lost)', () => {
    fs.writeFileSync(path.join(dataDir, 'secrets.key'), 'not a key\n');
    expect(() => parseEnv({ NODE_ENV: 'development', DATA_DIR: dataDir })).toThrow(/SECRETS_KEY: .*secrets\.key exists but does not hold a valid key/);
    expect(fs.readFileSync(path.join(dataDir, 'secrets.key'), 'utf8')).toBe('not a key\n');
  });

  it('is the only place that reads the environment', () => {
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const file = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(file);
        else if (/\.ts$/.test(entry.name) && !/\.spec\.ts$/.test(entry.name) && file !== path.join(__dirname, 'configuration.ts')) {
          if (/process\.env\b/.test(fs.readFileSync(file, 'utf8'))) offenders.push(path.relative(path.join(__dirname, '..'), file));
        }
      }
    };
    walk(path.join(__dirname, '..'));
    expect(offenders).toEqual([]);
    expect(new Set(KNOWN_ENV_VARS).size).toBe(KNOWN_ENV_VARS.length);
  });

  describe('BOOTSTRAP_OPERATOR_EMAIL / BOOTSTRAP_OPERATOR_PASSWORD', () => {
    it('takes both, the email lower-cased', () => {
      const c = parseEnv({ ...base(), BOOTSTRAP_OPERATOR_EMAIL: 'Ops@Example.com', BOOTSTRAP_OPERATOR_PASSWORD: 'a long enough secret' });
      expect(c.secrets.bootstrapOperator).toEqual({ email: 'ops@example.com', password: 'a long enough secret' });
    });

    it('refuses one without the other, a bad email, a short password — never echoing the password', () => {
      expect(problems({ ...base(), BOOTSTRAP_OPERATOR_EMAIL: 'ops@example.com' })).toEqual([
        'BOOTSTRAP_OPERATOR_EMAIL and BOOTSTRAP_OPERATOR_PASSWORD: set both or neither',
      ]);
      const p = problems({ ...base(), BOOTSTRAP_OPERATOR_EMAIL: 'not-an-email', BOOTSTRAP_OPERATOR_PASSWORD: 'short-pw' });
      expect(p).toEqual([
        'BOOTSTRAP_OPERATOR_EMAIL: must be an email address (got "not-an-email")',
        'BOOTSTRAP_OPERATOR_PASSWORD: must be 12 to 256 characters long',
      ]);
      expect(p.join('\n')).not.toContain('short-pw');
    });

    it('keeps its length rule equal to the one for every stored password', () => {
      const { PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH } = jest.requireActual('../users/passwords.service');
      const { OPERATOR_PASSWORD_MIN, OPERATOR_PASSWORD_MAX } = jest.requireActual('./configuration');
      expect([OPERATOR_PASSWORD_MIN, OPERATOR_PASSWORD_MAX]).toEqual([PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH]);
    });
  });
});
