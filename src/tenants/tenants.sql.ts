/**
 * SQL on this module's table (tenants) for statements other modules run in one round trip
 * (the session lookup, the API key check, identity listings). What "enabled" means for a
 * tenant is written here only.
 */

/** `JOIN tenants <alias>` on a tenant id (an SQL expression of the caller). */
export function joinTenant(alias: string, tenantId: string): string {
  return `JOIN tenants ${alias} ON ${alias}.id = ${tenantId}`;
}

/** The tenant joined as `alias` may be used (disabling a tenant ends its sessions and keys). */
export function tenantEnabled(alias: string): string {
  return `NOT ${alias}.disabled`;
}

/** Whether the tenant with this id (an SQL expression) is disabled; null when there is none. */
export function tenantDisabled(tenantId: string): string {
  return `(SELECT t.disabled FROM tenants t WHERE t.id = ${tenantId})`;
}

/**
 * The tenant a slug names, as a one-row subquery of the columns a sign-in reads (id, slug,
 * name, attributes, disabled): for a caller that reads its own rows of the tenant in the same
 * statement (the hand-off's issuer and keys).
 */
export function tenantBySlugSql(slug: string): string {
  return `SELECT id, slug, name, attributes, disabled FROM tenants WHERE slug = ${slug}`;
}
