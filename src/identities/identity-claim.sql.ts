/**
 * The identity check of the SSO hot path, as CTEs the token record statement embeds
 * (src/sso/token-record.ts), so owning the identity costs no extra round trip. The statement
 * records a batch of tokens (group commit, src/database/batcher.ts): these CTEs work on its
 * input relation, one row per token, columns `n` (row number), `instance`, `email`, `domain`
 * and `tenant_id`; `instance` is null for a token that signs nobody in (signed embeds).
 *
 * `idc` claims each identity for its tenant if nobody owns it yet (INSERT .. ON CONFLICT DO
 * NOTHING: when a row exists this writes nothing) — unless its email domain was given to
 * another tenant. Two rows of one batch naming the same identity claim it once, for the first
 * row's tenant. `own` lists the rows whose tenant owns their identity now (just claimed, or
 * claimed before, and the domain not another tenant's), and the rows without one. The
 * statement writes a row's token (and advances its Sisense iat sequence) only if `own` has it.
 *
 * A row another transaction committed after this statement's snapshot is seen by ON CONFLICT
 * but not by `own`: the caller then asks again (IdentitiesService.ownerOf) before refusing,
 * see SsoService.
 */
export function identityClaimCtes(input: string): string[] {
  const domainElsewhere = (row: string) =>
    `EXISTS (SELECT 1 FROM email_domains d WHERE d.domain = ${row}.domain AND d.tenant_id <> ${row}.tenant_id)`;
  return [
    `idc AS (
      INSERT INTO bi_identities (instance, email, tenant_id, claimed_via)
      SELECT DISTINCT ON (i.instance, i.email) i.instance, i.email, i.tenant_id, 'sso'
        FROM ${input} i
       WHERE i.instance IS NOT NULL AND NOT ${domainElsewhere('i')}
       ORDER BY i.instance, i.email, i.n
      ON CONFLICT (instance, email) DO NOTHING
      RETURNING instance, email, tenant_id)`,
    `own AS (
      SELECT i.n FROM ${input} i
       WHERE i.instance IS NULL
          OR (NOT ${domainElsewhere('i')}
              AND (EXISTS (SELECT 1 FROM idc WHERE idc.instance = i.instance AND idc.email = i.email AND idc.tenant_id = i.tenant_id)
                   OR EXISTS (SELECT 1 FROM bi_identities b
                               WHERE b.instance = i.instance AND b.email = i.email AND b.tenant_id = i.tenant_id))))`,
  ];
}
