import * as path from 'node:path';
import type { ApiKeysService } from './auth/api-keys.service';
import type { AppConfig } from './config/configuration';

const ADMIN_KEY: Record<ApiKeysService['bootstrapState'], string> = {
  active: 'BOOTSTRAP_ADMIN_KEY is active',
  replaced: 'BOOTSTRAP_ADMIN_KEY is active (it replaced the previous bootstrap key, now revoked)',
  kept: 'the bootstrap key from an earlier start is active (BOOTSTRAP_ADMIN_KEY=revoke revokes it)',
  revoked: 'the bootstrap key was revoked (BOOTSTRAP_ADMIN_KEY=revoke)',
  none: 'no bootstrap key: set BOOTSTRAP_ADMIN_KEY (24+ characters) to get a first admin API key',
};

/** Where the console is and how an operator signs in to it (the operators' tenant, slug `operators`). */
export function consoleLine(config: AppConfig): string {
  const who = config.secrets.bootstrapOperator
    ? `as ${config.secrets.bootstrapOperator.email} (BOOTSTRAP_OPERATOR_EMAIL)`
    : 'as an operator (set BOOTSTRAP_OPERATOR_EMAIL and _PASSWORD, or run npm run create-operator)';
  return `${config.app.publicUrl}/console: sign in with organization "operators", ${who}`;
}

/** The short human start-up summary printed when stdout is a terminal. No secret in it. */
export function startupSummary(config: AppConfig, adminKey: ApiKeysService['bootstrapState']): string {
  let database: string;
  if (config.database.url) {
    const u = new URL(config.database.url);
    database = `${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname} (DATABASE_URL)`;
  } else {
    database = `embedded Postgres in ${path.join(config.app.dataDir, 'postgres')}, port ${config.database.embeddedPort}`;
  }
  const lines = [
    `embed-idp is ready: ${config.app.publicUrl}`,
    `  database   ${database}`,
    `  console    ${consoleLine(config)}`,
    `  admin key  ${ADMIN_KEY[adminKey]}`,
    `  admin API  ${config.app.publicUrl}/api/docs`,
    `  metrics    ${config.metrics.token ? `${config.app.publicUrl}/metrics (bearer METRICS_TOKEN)` : 'off (set METRICS_TOKEN)'}`,
    `  logs       JSON, warnings and errors only here (set LOG_LEVEL=info for all)`,
  ];
  return lines.join('\n') + '\n';
}
