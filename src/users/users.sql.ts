/**
 * SQL on this module's tables (users, groups, group_members) for modules that embed it in
 * their own statements: the identities module's rules (which this module depends on, so
 * UsersService hands them over at start) and the one-statement reads of the hot path (the session lookup, the
 * SSO target load). The rules stay here: what "enabled" means, how a user's groups are read.
 */

/** $1 domain, $2 tenant id -> other tenants having users with an email in the domain. */
export const USER_TENANTS_IN_DOMAIN_SQL = `
  SELECT DISTINCT u.tenant_id FROM users u
   WHERE u.tenant_id <> $2 AND substring(u.email from '@([^@]*)$') = $1`;

/** $1 tenant id -> the emails of the tenant's users. */
export const TENANT_USER_EMAILS_SQL = `SELECT email FROM users WHERE tenant_id = $1`;

/** `JOIN users <alias>` on a user id and its tenant id (both SQL expressions of the caller). */
export function joinUser(alias: string, on: { userId: string; tenantId: string }): string {
  return `JOIN users ${alias} ON ${alias}.id = ${on.userId} AND ${alias}.tenant_id = ${on.tenantId}`;
}

/** The user joined as `alias` may sign in and use a session (disabling a user ends both). */
export function userEnabled(alias: string): string {
  return `NOT ${alias}.disabled`;
}

/**
 * The user's local group names within the tenant, sorted, as a varchar[] expression. The
 * tenant is in the WHERE of both tables, so a membership row that somehow pointed across
 * tenants could never leak a group name.
 */
export function userGroupNames(userId: string, tenantId: string): string {
  return `ARRAY(
           SELECT g.name FROM group_members gm JOIN groups g ON g.id = gm.group_id
            WHERE gm.user_id = ${userId} AND gm.tenant_id = ${tenantId} AND g.tenant_id = ${tenantId}
            ORDER BY g.name)`;
}

/**
 * The user with this email in the tenant (both SQL expressions; the email already normalised,
 * as users.email is stored), the columns a sign-in reads: for a statement that does its own
 * write in the same round trip (the hand-off's jti claim).
 */
export function userByEmailSql(tenantId: string, email: string): string {
  return `SELECT id, email, first_name, last_name, attributes, disabled FROM users WHERE tenant_id = ${tenantId} AND email = ${email}`;
}
