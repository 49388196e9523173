import { AppNamespace, parseApp } from './app.config';
import { AuditNamespace, parseAudit } from './audit.config';
import { DatabaseNamespace, parseDatabase } from './database.config';
import { ConfigError, Env, EnvReader } from './env';
import { LockoutNamespace, parseLockout } from './lockout.config';
import { MailNamespace, parseMail } from './mail.config';
import { MetricsNamespace, parseMetrics } from './metrics.config';
import { OutboundNamespace, parseOutbound } from './outbound.config';
import { parseSecrets, SecretsNamespace, withSecretsKey } from './secrets.config';
import { parseSession, SessionNamespace } from './session.config';
import { parseTokens, TokensNamespace } from './tokens.config';

export { ConfigError, KNOWN_ENV_VARS, type KnownEnvVar, type NodeEnv } from './env';
export { parseTrustProxy, type TrustProxy } from './app.config';
export { OPERATOR_PASSWORD_MAX, OPERATOR_PASSWORD_MIN, REVOKE_BOOTSTRAP_KEY } from './secrets.config';

/**
 * The one place that reads the environment. Each namespace has its own parser in this folder
 * (app.config.ts, database.config.ts, …); parseEnv runs them all over one EnvReader and names
 * every bad variable at once, so an operator fixes the lot in one go.
 */
export interface AppConfig {
  app: AppNamespace;
  database: DatabaseNamespace;
  secrets: SecretsNamespace;
  metrics: MetricsNamespace;
  session: SessionNamespace;
  lockout: LockoutNamespace;
  tokens: TokensNamespace;
  outbound: OutboundNamespace;
  mail: MailNamespace;
  audit: AuditNamespace;
}

export type ConfigNamespace = keyof AppConfig;
/** Every namespace (a Record, so the compiler refuses a list missing one). */
export const CONFIG_NAMESPACES = Object.keys({
  app: true,
  database: true,
  secrets: true,
  metrics: true,
  session: true,
  lockout: true,
  tokens: true,
  outbound: true,
  mail: true,
  audit: true,
} satisfies Record<ConfigNamespace, true>) as ConfigNamespace[];
/** One namespace's settings, as `@InjectConfig(namespace)` hands them to a service. */
export type Config<N extends ConfigNamespace> = AppConfig[N];

export function parseEnv(env: Env, opts: { interactive?: boolean } = {}): AppConfig {
  const read = new EnvReader(env);
  const app = parseApp(read, opts);
  const database = parseDatabase(read, app.nodeEnv);
  const secrets = parseSecrets(read, app.nodeEnv);
  const metrics = parseMetrics(read);
  const session = parseSession(read);
  const lockout = parseLockout(read);
  const tokens = parseTokens(read);
  const outbound = parseOutbound(read, app.nodeEnv);
  const mail = parseMail(read, app.nodeEnv, app.publicUrl);

  const audit = parseAudit(read);
  // The embedded Postgres (development) belongs to one process: every worker would start its own.
  if (app.workers > 1 && !database.url) read.problems.push('WORKERS: more than 1 needs DATABASE_URL (the embedded development Postgres serves one process); set DATABASE_URL or WORKERS=1');

  if (read.problems.length) throw new ConfigError(read.problems);

  return { app, database, secrets: withSecretsKey(secrets, app.dataDir), metrics, session, lockout, tokens, outbound, mail, audit };
}

/** Loads the validated config from the process environment — used by main and the CLIs. */
export function loadConfig(opts: { interactive?: boolean } = {}): AppConfig {
  return parseEnv(process.env, opts);
}
