/**
 * What every namespace parser (src/config/*.config.ts) reads the environment through: only
 * configuration.ts (loadConfig) passes it the real environment. A parser pushes what is wrong
 * onto `problems` instead of throwing, so parseEnv can name every bad variable at once.
 */

/** Every variable the service knows (docker-compose.yml is checked against it by a test). */
export const KNOWN_ENV_VARS = [
  'NODE_ENV',
  'PORT',
  'PUBLIC_URL',
  'DATABASE_URL',
  'DATABASE_DIRECT_URL',
  'MIGRATE_ON_START',
  'SECRETS_KEY',
  'SECRETS_KEY_PREVIOUS',
  'BOOTSTRAP_ADMIN_KEY',
  'BOOTSTRAP_OPERATOR_EMAIL',
  'BOOTSTRAP_OPERATOR_PASSWORD',
  'DATA_DIR',
  'EMBEDDED_PG_PORT',
  'LOG_LEVEL',
  'TRUST_PROXY',
  'TRUST_PROXY_ALLOW_PUBLIC',
  'DB_POOL_SIZE',
  'SESSION_IDLE_TIMEOUT',
  'SESSION_ABSOLUTE_TIMEOUT',
  'LOGIN_LOCKOUT_THRESHOLD',
  'LOGIN_LOCKOUT_WINDOW',
  'LOGIN_LOCKOUT_DURATION',
  'LOGIN_IP_LIMIT',
  'LOGIN_IP_WINDOW',
  'LOGIN_IP_ATTEMPT_LIMIT',
  'LOGIN_ACCOUNT_ATTEMPT_LIMIT',
  'LOGIN_IP_CONCURRENCY',
  'LOGIN_ACCOUNT_CONCURRENCY',
  'TOKEN_PRUNE_INTERVAL',
  'SHUTDOWN_GRACE_PERIOD',
  'WORKERS',
  'METRICS_TOKEN',
  'SSO_FAST_PATH',
  'SSO_SESSION_BURST',
  'SSO_SESSION_RATE',
  'OUTBOUND_ALLOW_PRIVATE',
  'SIGNING_KEY_PUBLICATION_DELAY',
  'SMTP_URL',
  'MAIL_FROM',
  'AUDIT_RETENTION_DAYS',
] as const;
export type KnownEnvVar = (typeof KNOWN_ENV_VARS)[number];

export type Env = Record<string, string | undefined>;

export type NodeEnv = 'development' | 'production' | 'test';

/** Values people paste instead of a secret; refused wherever a secret is asked for. */
export const PLACEHOLDER_SECRETS = new Set(['changeme', 'change-me', 'change_me', 'secret', 'placeholder', 'replace-me', 'xxx']);

/** Every bad variable at once, each naming the variable and what to write instead. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export class EnvReader {
  /** One line per bad variable, "NAME: what is wrong / what to write". */
  readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  /** The trimmed value; unset and blank both read as undefined. */
  str(name: KnownEnvVar): string | undefined {
    const v = this.env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  }

  /** The value exactly as set (a password may start or end with a space); '' reads as undefined. */
  raw(name: KnownEnvVar): string | undefined {
    const v = this.env[name];
    return v === '' ? undefined : v;
  }

  int(name: KnownEnvVar, def: number, min: number, max: number): number {
    const raw = this.str(name);
    if (raw === undefined) return def;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      this.problems.push(`${name}: must be a whole number from ${min} to ${max} (got "${raw}")`);
      return def;
    }
    return Number(raw);
  }

  onOff(name: KnownEnvVar, fallback: boolean): boolean {
    const v = this.str(name);
    if (v === undefined) return fallback;
    if (v === 'on' || v === 'true' || v === '1') return true;
    if (v === 'off' || v === 'false' || v === '0') return false;
    this.problems.push(`${name}: must be on or off (got "${v}")`);
    return fallback;
  }
}
