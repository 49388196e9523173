import { userGroupNames } from '../users/users.sql';

/**
 * Read-only SQL on this module's tables (targets, tenant_target_access): for the identities
 * module's rules, which cannot inject AccessService (the catalog depends on it, not the
 * reverse; handed over at start by AccessIdentitySources), and for issuance's one-statement
 * hot-path reads and its logout lookups.
 */

/** $1 tenant id -> the base URLs of the targets whose users are seen by email (not a shared account). */
export const TENANT_USER_BASE_URLS_SQL = `
  SELECT DISTINCT t.base_url FROM tenant_target_access a JOIN targets t ON t.id = a.target_id
   WHERE a.tenant_id = $1 AND NOT (a.settings ? 'sharedAccount')`;

/** $1 domain, $2 tenant id -> other tenants whose shared account has an email in the domain. */
export const SHARED_ACCOUNT_TENANTS_IN_DOMAIN_SQL = `
  SELECT DISTINCT a.tenant_id FROM tenant_target_access a
   WHERE a.tenant_id <> $2 AND substring(lower(a.settings #>> '{sharedAccount,email}') from '@([^@]*)$') = $1`;

// For a batch of (slug, tenant, user) at once, row number n. Each row looks up its target and
// access through its own LATERAL subquery (LIMIT 1: both are unique, and the subquery is not
// flattened), so the cached generic plan probes the indexes per row instead of hashing whole
// tables (the plan Postgres picked for a plain join of the unnest). The user's groups come
// from the users module's fragment (userGroupNames).
export const targetColumns = (userId: string, tenantId: string) => `
         tg.id AS target_id, tg.slug AS target_slug, tg.kind, tg.base_url, tg.settings, tg.disabled AS target_disabled, tg.secrets,
         a.id AS access_id, a.group_mappings, a.attributes AS access_attributes, a.settings AS access_settings,
         CASE WHEN ${userId} IS NULL THEN '{}'::varchar[] ELSE ${userGroupNames(userId, tenantId)} END AS groups`;
export const targetJoins = (slug: string, tenantId: string) => `
    LEFT JOIN LATERAL (SELECT * FROM targets WHERE slug = ${slug} LIMIT 1) tg ON true
    LEFT JOIN LATERAL (SELECT * FROM tenant_target_access WHERE target_id = tg.id AND tenant_id = ${tenantId} LIMIT 1) a ON true`;

/**
 * $1 tenant id, $2 target ids -> each target with this tenant's access to it, when there is
 * one. Disabled targets and revoked access included (a logout still ends the BI session).
 */
export const TARGETS_WITH_ACCESS_SQL = `
  SELECT t.id, t.slug, t.kind, t.base_url, t.settings, a.group_mappings, a.attributes, a.settings AS access_settings
    FROM targets t
    LEFT JOIN tenant_target_access a ON a.target_id = t.id AND a.tenant_id = $1
   WHERE t.id = ANY ($2::uuid[])
   ORDER BY t.slug`;

/** $1 tenant id, $2 normalised URL -> a row when an enabled target of the tenant lands its logout there. */
export const TENANT_LOGOUT_LANDING_SQL = `
  SELECT 1 FROM targets t JOIN tenant_target_access a ON a.target_id = t.id AND a.tenant_id = $1
   WHERE NOT t.disabled AND t.settings->>'logoutLandingUrl' = $2 LIMIT 1`;
