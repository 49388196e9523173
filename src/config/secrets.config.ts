import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, EnvReader, NodeEnv, PLACEHOLDER_SECRETS } from './env';

/** The `secrets` namespace: the key sealing secrets at rest, and the first admin credentials. */
export interface SecretsNamespace {
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
}

/** Kept equal to PASSWORD_MIN_LENGTH / PASSWORD_MAX_LENGTH (configuration.spec.ts checks). */
export const OPERATOR_PASSWORD_MIN = 12;
export const OPERATOR_PASSWORD_MAX = 256;
const OPERATOR_EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** `revoke` as BOOTSTRAP_ADMIN_KEY revokes the bootstrap key (an unset variable leaves it). */
export const REVOKE_BOOTSTRAP_KEY = 'revoke';

/**
 * SECRETS_KEY, SECRETS_KEY_PREVIOUS, BOOTSTRAP_ADMIN_KEY, BOOTSTRAP_OPERATOR_EMAIL/_PASSWORD.
 * `key` stays undefined when SECRETS_KEY is unset outside production: withSecretsKey makes or
 * reads the development key file, and only once every variable was accepted (a refused start
 * writes nothing).
 */
export function parseSecrets(read: EnvReader, nodeEnv: NodeEnv): Omit<SecretsNamespace, 'key'> & { key?: Buffer } {
  // SECRETS_KEY: 32 bytes as 64 hex characters or base64. Never echoed back in an error.
  let key: Buffer | undefined;
  const keyRaw = read.str('SECRETS_KEY');
  if (keyRaw !== undefined) {
    key = decodeKey(keyRaw);
    if (!key) {
      read.problems.push('SECRETS_KEY: must be 32 random bytes, as 64 hex characters or base64');
    } else if (PLACEHOLDER_SECRETS.has(keyRaw.toLowerCase()) || key.every((b) => b === key![0])) {
      read.problems.push('SECRETS_KEY: is a placeholder; generate one with `openssl rand -hex 32`');
      key = undefined;
    }
  } else if (nodeEnv === 'production') {
    read.problems.push('SECRETS_KEY: is required in production (`openssl rand -hex 32`)');
  }

  let previousKey: Buffer | undefined;
  const previousRaw = read.str('SECRETS_KEY_PREVIOUS');
  if (previousRaw !== undefined) {
    previousKey = decodeKey(previousRaw);
    if (!previousKey) read.problems.push('SECRETS_KEY_PREVIOUS: must be 32 bytes, as 64 hex characters or base64 (the SECRETS_KEY used before)');
    else if (key && previousKey.equals(key)) previousKey = undefined;
  }

  const bootstrapAdminKey = read.str('BOOTSTRAP_ADMIN_KEY');
  if (bootstrapAdminKey !== undefined && bootstrapAdminKey !== REVOKE_BOOTSTRAP_KEY) {
    if (bootstrapAdminKey.length < 24) {
      read.problems.push('BOOTSTRAP_ADMIN_KEY: must be at least 24 characters');
    } else if (nodeEnv === 'production' && PLACEHOLDER_SECRETS.has(bootstrapAdminKey.toLowerCase())) {
      read.problems.push('BOOTSTRAP_ADMIN_KEY: is a placeholder');
    }
  }

  return { key, previousKey, bootstrapAdminKey, bootstrapOperator: parseBootstrapOperator(read) };
}

/** The first operator: created at start when missing (an existing one keeps its password). */
function parseBootstrapOperator(read: EnvReader): SecretsNamespace['bootstrapOperator'] {
  const opEmail = read.str('BOOTSTRAP_OPERATOR_EMAIL');
  const opPassword = read.raw('BOOTSTRAP_OPERATOR_PASSWORD');
  if ((opEmail === undefined) !== (opPassword === undefined)) {
    read.problems.push('BOOTSTRAP_OPERATOR_EMAIL and BOOTSTRAP_OPERATOR_PASSWORD: set both or neither');
    return undefined;
  }
  if (opEmail === undefined || opPassword === undefined) return undefined;
  let ok = true;
  if (!OPERATOR_EMAIL.test(opEmail) || opEmail.length > 254) {
    read.problems.push(`BOOTSTRAP_OPERATOR_EMAIL: must be an email address (got "${opEmail}")`);
    ok = false;
  }
  // Same rule as every password the service stores (users/passwords.service.ts); never echoed.
  if (opPassword.length < OPERATOR_PASSWORD_MIN || opPassword.length > OPERATOR_PASSWORD_MAX) {
    read.problems.push(`BOOTSTRAP_OPERATOR_PASSWORD: must be ${OPERATOR_PASSWORD_MIN} to ${OPERATOR_PASSWORD_MAX} characters long`);
    ok = false;
  } else if (PLACEHOLDER_SECRETS.has(opPassword.toLowerCase())) {
    read.problems.push('BOOTSTRAP_OPERATOR_PASSWORD: is a placeholder');
    ok = false;
  }
  return ok ? { email: opEmail.toLowerCase(), password: opPassword } : undefined;
}

/** The namespace with its key: SECRETS_KEY's, else the development key kept under DATA_DIR. */
export function withSecretsKey(parsed: ReturnType<typeof parseSecrets>, dataDir: string): SecretsNamespace {
  return { ...parsed, key: parsed.key ?? developmentKey(dataDir) };
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
