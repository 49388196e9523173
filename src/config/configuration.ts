import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The one place that reads the environment. Every variable the service knows is listed in
 * KNOWN_ENV_VARS (docker-compose.yml is checked against it by a test). parseEnv validates
 * them all at once and names every bad one, so an operator fixes the lot in one go.
 */
export const KNOWN_ENV_VARS = [
  'NODE_ENV',
  'PORT',
  'PUBLIC_URL',
  'DATABASE_URL',
  'SECRETS_KEY',
  'SECRETS_KEY_PREVIOUS',
  'BOOTSTRAP_ADMIN_KEY',
  'BOOTSTRAP_OPERATOR_EMAIL',
  'BOOTSTRAP_OPERATOR_PASSWORD',
  'DATA_DIR',
  'EMBEDDED_PG_PORT',
  'LOG_LEVEL',
  'TRUST_PROXY',
  'DB_POOL_SIZE',
  'SESSION_IDLE_TIMEOUT',
  'SESSION_ABSOLUTE_TIMEOUT',
  'LOGIN_LOCKOUT_THRESHOLD',
  'LOGIN_LOCKOUT_WINDOW',
  'LOGIN_LOCKOUT_DURATION',
  'LOGIN_IP_LIMIT',
  'LOGIN_IP_WINDOW',
  'TOKEN_PRUNE_INTERVAL',
  'SHUTDOWN_GRACE_PERIOD',
  'METRICS_TOKEN',
  'SSO_FAST_PATH',
] as const;
export type KnownEnvVar = (typeof KNOWN_ENV_VARS)[number];

export type NodeEnv = 'development' | 'production' | 'test';

export interface AppConfig {
  app: {
    nodeEnv: NodeEnv;
    port: number;
    /** Origin (and optional base path) the service is reached at, no trailing slash. */
    publicUrl: string;
    /** True when PUBLIC_URL is https: cookies get Secure and SameSite=None. */
    secureCookies: boolean;
    logLevel: string;
    /** Express's `trust proxy`: false, a hop count, or the proxies' addresses (see parseTrustProxy). */
    trustProxy: TrustProxy;
    dataDir: string;
    /** Seconds in-flight requests get to finish after SIGTERM before the pool closes. */
    shutdownGraceSeconds: number;
    /**
     * Started from a terminal (stdout is a TTY) with no LOG_LEVEL: main prints a short human
     * summary and the JSON log keeps to warnings and errors.
     */
    interactive: boolean;
    /** SSO_FAST_PATH (default on): successful SSO handshakes answered before Express (sso-fast-path.ts). */
    ssoFastPath: boolean;
  };
  database: {
    /** Undefined means: start the embedded Postgres under dataDir. */
    url?: string;
    embeddedPort: number;
    poolSize: number;
  };
  secrets: {
    /** 32-byte AES-256-GCM key for secrets at rest. */
    key: Buffer;
    /** SECRETS_KEY_PREVIOUS: still accepted for opening while a rotation is under way. */
    previousKey?: Buffer;
    /**
     * BOOTSTRAP_ADMIN_KEY: undefined leaves the bootstrap key as it is; 'revoke' revokes it;
     * a value makes it that value (replacing a previous one).
     */
    bootstrapAdminKey?: string | 'revoke';
    /** The first platform operator, ensured at start (both set or neither). */
    bootstrapOperator?: { email: string; password: string };
  };
  metrics: {
    /** Bearer token of GET /metrics; undefined: the route answers 404. */
    token?: string;
  };
  session: {
    idleTimeoutSeconds: number;
    absoluteTimeoutSeconds: number;
  };
  lockout: {
    threshold: number;
    windowSeconds: number;
    durationSeconds: number;
    ipLimit: number;
    ipWindowSeconds: number;
  };
  tokens: {
    pruneIntervalSeconds: number;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const PLACEHOLDER_SECRETS = new Set([
  'changeme',
  'change-me',
  'change_me',
  'secret',
  'placeholder',
  'replace-me',
  'xxx',
]);

type Env = Record<string, string | undefined>;

/** Kept equal to PASSWORD_MIN_LENGTH / PASSWORD_MAX_LENGTH (configuration.spec.ts checks). */
export const OPERATOR_PASSWORD_MIN = 12;
export const OPERATOR_PASSWORD_MAX = 256;
const OPERATOR_EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** `revoke` as BOOTSTRAP_ADMIN_KEY revokes the bootstrap key (an unset variable leaves it). */
export const REVOKE_BOOTSTRAP_KEY = 'revoke';

export function parseEnv(env: Env, opts: { interactive?: boolean } = {}): AppConfig {
  const problems: string[] = [];
  const str = (name: KnownEnvVar): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };
  const int = (name: KnownEnvVar, def: number, min: number, max: number): number => {
    const raw = str(name);
    if (raw === undefined) return def;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      problems.push(`${name}: must be a whole number from ${min} to ${max} (got "${raw}")`);
      return def;
    }
    return Number(raw);
  };
  const bool = (name: KnownEnvVar, def: boolean): boolean => {
    const raw = str(name);
    if (raw === undefined) return def;
    if (/^(1|true|yes)$/i.test(raw)) return true;
    if (/^(0|false|no)$/i.test(raw)) return false;
    problems.push(`${name}: must be true or false (got "${raw}")`);
    return def;
  };

  const nodeEnvRaw = str('NODE_ENV') ?? 'development';
  let nodeEnv: NodeEnv = 'development';
  if (nodeEnvRaw === 'development' || nodeEnvRaw === 'production' || nodeEnvRaw === 'test') {
    nodeEnv = nodeEnvRaw;
  } else {
    problems.push(`NODE_ENV: must be one of development, production, test (got "${nodeEnvRaw}")`);
  }

  const port = int('PORT', 3000, 0, 65535);

  let publicUrl = `http://localhost:${port}`;
  const publicRaw = str('PUBLIC_URL');
  if (publicRaw !== undefined) {
    try {
      const u = new URL(publicRaw);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
      if (u.search || u.hash || u.username || u.password) throw new Error('extra');
      publicUrl = `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
    } catch {
      problems.push(
        `PUBLIC_URL: must be an absolute http(s) URL with no query, fragment or credentials (got "${publicRaw}")`,
      );
    }
  } else if (nodeEnv === 'production') {
    problems.push('PUBLIC_URL: is required in production (the URL BI tools redirect visitors to)');
  }

  const dbUrl = str('DATABASE_URL');
  if (dbUrl !== undefined) {
    try {
      const u = new URL(dbUrl);
      if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new Error('scheme');
    } catch {
      problems.push('DATABASE_URL: must be a postgres:// or postgresql:// URL');
    }
  } else if (nodeEnv === 'production') {
    // The embedded Postgres is a development convenience (a devDependency, absent from the
    // production image): production names its database.
    problems.push('DATABASE_URL: is required in production (postgres://user:password@host:5432/db)');
  }

  const dataDir = path.resolve(str('DATA_DIR') ?? '.data');

  const interactive = (opts.interactive ?? false) && str('LOG_LEVEL') === undefined && nodeEnv !== 'test';
  const logLevel = str('LOG_LEVEL') ?? (nodeEnv === 'test' || interactive ? 'warn' : 'info');
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    problems.push(`LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent (got "${logLevel}")`);
  }

  // SECRETS_KEY: 32 bytes as 64 hex characters or base64. Never echoed back in an error.
  let key: Buffer | undefined;
  const keyRaw = str('SECRETS_KEY');
  if (keyRaw !== undefined) {
    key = decodeKey(keyRaw);
    if (!key) {
      problems.push('SECRETS_KEY: must be 32 random bytes, as 64 hex characters or base64');
    } else if (PLACEHOLDER_SECRETS.has(keyRaw.toLowerCase()) || key.every((b) => b === key![0])) {
      problems.push('SECRETS_KEY: is a placeholder; generate one with `openssl rand -hex 32`');
      key = undefined;
    }
  } else if (nodeEnv === 'production') {
    problems.push('SECRETS_KEY: is required in production (`openssl rand -hex 32`)');
  }

  let previousKey: Buffer | undefined;
  const previousRaw = str('SECRETS_KEY_PREVIOUS');
  if (previousRaw !== undefined) {
    previousKey = decodeKey(previousRaw);
    if (!previousKey) problems.push('SECRETS_KEY_PREVIOUS: must be 32 bytes, as 64 hex characters or base64 (the SECRETS_KEY used before)');
    else if (key && previousKey.equals(key)) previousKey = undefined;
  }

  const bootstrapAdminKey = str('BOOTSTRAP_ADMIN_KEY');
  if (bootstrapAdminKey !== undefined && bootstrapAdminKey !== REVOKE_BOOTSTRAP_KEY) {
    if (bootstrapAdminKey.length < 24) {
      problems.push('BOOTSTRAP_ADMIN_KEY: must be at least 24 characters');
    } else if (nodeEnv === 'production' && PLACEHOLDER_SECRETS.has(bootstrapAdminKey.toLowerCase())) {
      problems.push('BOOTSTRAP_ADMIN_KEY: is a placeholder');
    }
  }

  // The first operator: created at start when missing (an existing one keeps its password).
  let bootstrapOperator: { email: string; password: string } | undefined;
  const opEmail = str('BOOTSTRAP_OPERATOR_EMAIL');
  const opPassword = env.BOOTSTRAP_OPERATOR_PASSWORD === '' ? undefined : env.BOOTSTRAP_OPERATOR_PASSWORD;
  if ((opEmail === undefined) !== (opPassword === undefined)) {
    problems.push('BOOTSTRAP_OPERATOR_EMAIL and BOOTSTRAP_OPERATOR_PASSWORD: set both or neither');
  } else if (opEmail !== undefined && opPassword !== undefined) {
    let ok = true;
    if (!OPERATOR_EMAIL.test(opEmail) || opEmail.length > 254) {
      problems.push(`BOOTSTRAP_OPERATOR_EMAIL: must be an email address (got "${opEmail}")`);
      ok = false;
    }
    // Same rule as every password the service stores (users/passwords.service.ts); never echoed.
    if (opPassword.length < OPERATOR_PASSWORD_MIN || opPassword.length > OPERATOR_PASSWORD_MAX) {
      problems.push(`BOOTSTRAP_OPERATOR_PASSWORD: must be ${OPERATOR_PASSWORD_MIN} to ${OPERATOR_PASSWORD_MAX} characters long`);
      ok = false;
    } else if (PLACEHOLDER_SECRETS.has(opPassword.toLowerCase())) {
      problems.push('BOOTSTRAP_OPERATOR_PASSWORD: is a placeholder');
      ok = false;
    }
    if (ok) bootstrapOperator = { email: opEmail.toLowerCase(), password: opPassword };
  }

  const onOff = (name: KnownEnvVar, fallback: boolean): boolean => {
    const v = str(name);
    if (v === undefined) return fallback;
    if (v === 'on' || v === 'true' || v === '1') return true;
    if (v === 'off' || v === 'false' || v === '0') return false;
    problems.push(`${name}: must be on or off (got "${v}")`);
    return fallback;
  };

  // Metrics tell traffic, refusal reasons and pool use: not for the internet at large.
  const metricsToken = str('METRICS_TOKEN');
  if (metricsToken !== undefined && (metricsToken.length < 24 || PLACEHOLDER_SECRETS.has(metricsToken.toLowerCase()))) {
    problems.push('METRICS_TOKEN: must be at least 24 characters (openssl rand -hex 24)');
  }

  const config: AppConfig = {
    app: {
      nodeEnv,
      port,
      publicUrl,
      secureCookies: publicUrl.startsWith('https:'),
      logLevel,
      trustProxy: parseTrustProxy(str('TRUST_PROXY'), problems),
      dataDir,
      shutdownGraceSeconds: int('SHUTDOWN_GRACE_PERIOD', 10, 0, 600),
      interactive,
      ssoFastPath: onOff('SSO_FAST_PATH', true),
    },
    database: {
      url: dbUrl,
      embeddedPort: int('EMBEDDED_PG_PORT', 54329, 1, 65535),
      poolSize: int('DB_POOL_SIZE', 20, 1, 500),
    },
    secrets: { key: key ?? Buffer.alloc(0), previousKey, bootstrapAdminKey, bootstrapOperator },
    metrics: { token: metricsToken },
    session: {
      idleTimeoutSeconds: int('SESSION_IDLE_TIMEOUT', 2 * 3600, 60, 30 * 86400),
      absoluteTimeoutSeconds: int('SESSION_ABSOLUTE_TIMEOUT', 12 * 3600, 60, 90 * 86400),
    },
    lockout: {
      threshold: int('LOGIN_LOCKOUT_THRESHOLD', 10, 1, 1000),
      windowSeconds: int('LOGIN_LOCKOUT_WINDOW', 15 * 60, 1, 86400),
      durationSeconds: int('LOGIN_LOCKOUT_DURATION', 15 * 60, 1, 86400),
      ipLimit: int('LOGIN_IP_LIMIT', 100, 1, 1_000_000),
      ipWindowSeconds: int('LOGIN_IP_WINDOW', 15 * 60, 1, 86400),
    },
    tokens: {
      pruneIntervalSeconds: int('TOKEN_PRUNE_INTERVAL', 300, 1, 86400),
    },
  };
  if (config.session.absoluteTimeoutSeconds < config.session.idleTimeoutSeconds) {
    problems.push('SESSION_ABSOLUTE_TIMEOUT: must not be shorter than SESSION_IDLE_TIMEOUT');
  }

  if (problems.length) throw new ConfigError(problems);

  if (!key) config.secrets.key = developmentKey(dataDir);
  return config;
}

function decodeKey(raw: string): Buffer | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(raw)) return Buffer.from(raw, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(raw)) {
    const b = Buffer.from(raw.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (b.length === 32) return b;
  }
  return undefined;
}

/** Outside production a key is generated once and kept under DATA_DIR (mode 0600). */
function developmentKey(dataDir: string): Buffer {
  const file = path.join(dataDir, 'secrets.key');
  try {
    const existing = decodeKey(fs.readFileSync(file, 'utf8').trim());
    if (existing) return existing;
  } catch {
    /* not there yet */
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32);
  try {
    fs.writeFileSync(file, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
    return key;
  } catch {
    // Another process won the race: use what it wrote.
    const existing = decodeKey(fs.readFileSync(file, 'utf8').trim());
    if (!existing) throw new ConfigError([`SECRETS_KEY: ${file} exists but does not hold a valid key`]);
    return existing;
  }
}

/** Loads the validated config from the process environment — used by main and the CLIs. */
export function loadConfig(opts: { interactive?: boolean } = {}): AppConfig {
  return parseEnv(process.env, opts);
}

/** Express's `trust proxy` setting, in the forms that do not trust every hop. */
export type TrustProxy = false | number | string[];

/** proxy-addr's named ranges (what Express accepts besides addresses and CIDRs). */
const NAMED_PROXY_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * TRUST_PROXY: which X-Forwarded-For entries to believe (they give the client IP used by the
 * per-IP login limit and written to the audit log). `false`/`0`: none; a number N: the N
 * proxies nearest the service (Express's hop count); else a comma-separated list of proxy
 * addresses, CIDRs or the names loopback, linklocal, uniquelocal. `true` is refused: Express
 * would then take the LEFTMOST entry, which the client writes itself — any visitor could pick
 * its IP, rotate past the per-IP limit and forge audit IPs (issue 8, finding 6). There is no
 * safe mapping for it: the number of proxies is not knowable from here.
 */
export function parseTrustProxy(raw: string | undefined, problems: string[]): TrustProxy {
  if (raw === undefined || /^(false|no|0)$/i.test(raw)) return false;
  if (/^(true|yes)$/i.test(raw)) {
    problems.push(
      'TRUST_PROXY: "true" would trust every X-Forwarded-For entry, which clients can forge; give the number of proxies in front of the service (e.g. 1) or their addresses (e.g. loopback or 10.0.0.0/8)',
    );
    return false;
  }
  if (/^\d+$/.test(raw)) {
    const hops = Number(raw);
    if (hops > 10) problems.push(`TRUST_PROXY: a hop count must be from 0 to 10 (got "${raw}")`);
    return hops > 10 ? false : hops;
  }
  const entries = raw.split(',').map((e) => e.trim());
  const bad = entries.filter((e) => !NAMED_PROXY_RANGES.has(e) && !isAddressOrCidr(e));
  if (bad.length) {
    problems.push(
      `TRUST_PROXY: must be false, a number of proxies, or a comma-separated list of proxy addresses, CIDRs, loopback, linklocal or uniquelocal (not understood: ${bad.map((b) => `"${b}"`).join(', ')})`,
    );
    return false;
  }
  return entries;
}

function isAddressOrCidr(entry: string): boolean {
  const [addr, prefix, ...rest] = entry.split('/');
  const family = isIP(addr);
  if (!family || rest.length) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}
