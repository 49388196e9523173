/**
 * Read-only SQL on this module's tables (targets, tenant_target_access) for the identities
 * module's rules, which cannot inject AccessService (the SSO module depends on it, not the
 * reverse): handed over at start by AccessIdentitySources (access-identity-sources.ts).
 */

/** $1 tenant id -> the base URLs of the targets whose users are seen by email (not a shared account). */
export const TENANT_USER_BASE_URLS_SQL = `
  SELECT DISTINCT t.base_url FROM tenant_target_access a JOIN targets t ON t.id = a.target_id
   WHERE a.tenant_id = $1 AND NOT (a.settings ? 'sharedAccount')`;

/** $1 domain, $2 tenant id -> other tenants whose shared account has an email in the domain. */
export const SHARED_ACCOUNT_TENANTS_IN_DOMAIN_SQL = `
  SELECT DISTINCT a.tenant_id FROM tenant_target_access a
   WHERE a.tenant_id <> $2 AND substring(lower(a.settings #>> '{sharedAccount,email}') from '@([^@]*)$') = $1`;
