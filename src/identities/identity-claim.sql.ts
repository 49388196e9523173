/**
 * The identity check of the SSO hot path, as CTEs the token record statement embeds
 * (src/sso/token-record.ts), so owning the identity costs no extra round trip.
 *
 * `idc` claims the identity for the tenant if nobody owns it yet (INSERT .. ON CONFLICT DO
 * NOTHING: when a row exists this writes nothing) — unless its email domain was given to
 * another tenant. `own` is one row exactly when the tenant owns the identity now: just
 * claimed, or claimed before, and the domain not another tenant's. The statement writes its
 * token (and advances a Sisense iat sequence) only `WHERE EXISTS (SELECT 1 FROM own)`.
 *
 * Placeholders are the caller's (e.g. '$4'). A row another transaction committed after this
 * statement's snapshot is seen by ON CONFLICT but not by `own`: the caller then asks again
 * (IdentitiesService.ownerOf) before refusing, see SsoService.
 */
export function identityClaimCtes(p: { instance: string; email: string; domain: string; tenantId: string }): string[] {
  const domainElsewhere = `EXISTS (SELECT 1 FROM email_domains d WHERE d.domain = ${p.domain}::varchar AND d.tenant_id <> ${p.tenantId}::uuid)`;
  return [
    `idc AS (
      INSERT INTO bi_identities (instance, email, tenant_id, claimed_via)
      SELECT ${p.instance}::varchar, ${p.email}::varchar, ${p.tenantId}::uuid, 'sso'
       WHERE NOT ${domainElsewhere}
      ON CONFLICT (instance, email) DO NOTHING
      RETURNING tenant_id)`,
    `own AS (
      SELECT 1 AS ok
       WHERE NOT ${domainElsewhere}
         AND (EXISTS (SELECT 1 FROM idc)
              OR EXISTS (SELECT 1 FROM bi_identities b
                          WHERE b.instance = ${p.instance}::varchar AND b.email = ${p.email}::varchar AND b.tenant_id = ${p.tenantId}::uuid)))`,
  ];
}

/** The condition that guards every write of the statement. */
export const OWNED = 'EXISTS (SELECT 1 FROM own)';
