/**
 * Read-only SQL on this module's users table for the identities module (which the users
 * module depends on, so it cannot inject UsersService).
 */

/** $1 domain, $2 tenant id -> other tenants having users with an email in the domain. */
export const USER_TENANTS_IN_DOMAIN_SQL = `
  SELECT DISTINCT u.tenant_id FROM users u
   WHERE u.tenant_id <> $2 AND substring(u.email from '@([^@]*)$') = $1`;

/** $1 tenant id -> the emails of the tenant's users. */
export const TENANT_USER_EMAILS_SQL = `SELECT email FROM users WHERE tenant_id = $1`;
