/**
 * The identity check of the SSO hot path, as CTEs the token record statement embeds
 * (src/issuance/token-record.ts), so owning the identity costs no extra round trip. The statement
 * records a batch of tokens (group commit, src/common/batcher.ts): these CTEs work on its
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
  // Per row, as SubPlans in the SELECT list (index probes): a NOT EXISTS in a WHERE clause is
  // turned into an anti-join, which the cached generic plan ran as a scan of all of
  // email_domains per batch. The owner is probed by the primary key (instance, email) alone,
  // the tenant compared on the one row found: with the tenant in the WHERE clause, a plan
  // made while the table looked small (a new instance, statistics not yet refreshed) read
  // the tenant's index and filtered every identity of the tenant, on every handshake.
  return [
    `idq AS (
      SELECT i.n, i.instance, i.email, i.tenant_id,
             EXISTS (SELECT 1 FROM email_domains d WHERE d.domain = i.domain AND d.tenant_id <> i.tenant_id) AS domain_elsewhere,
             COALESCE((SELECT b.tenant_id = i.tenant_id FROM bi_identities b
                        WHERE b.instance = i.instance AND b.email = i.email), false) AS owned_before
        FROM ${input} i WHERE i.instance IS NOT NULL)`,
    `idc AS (
      INSERT INTO bi_identities (instance, email, tenant_id, claimed_via)
      SELECT DISTINCT ON (q.instance, q.email) q.instance, q.email, q.tenant_id, 'sso'
        FROM idq q WHERE NOT q.domain_elsewhere AND NOT q.owned_before
       ORDER BY q.instance, q.email, q.n
      ON CONFLICT (instance, email) DO NOTHING
      RETURNING instance, email, tenant_id)`,
    `own AS (
      SELECT i.n FROM ${input} i WHERE i.instance IS NULL
      UNION ALL
      SELECT q.n FROM idq q
       WHERE NOT q.domain_elsewhere
         AND (q.owned_before OR EXISTS (SELECT 1 FROM idc WHERE idc.instance = q.instance AND idc.email = q.email AND idc.tenant_id = q.tenant_id)))`,
  ];
}

/**
 * The owners of an email's identities on every BI instance, as a jsonb object
 * `{instance: owner tenant id}` (`{}` when none), for a statement that reads before a sign-in:
 * the hand-off's target precheck, so the identity's owner costs no round trip of its own.
 * `email` is an SQL expression of the email lower-cased, as bi_identities.email is stored.
 * Probed by ix_bi_identities_email; an email has one row per instance at most.
 */
export function identityOwnersByInstanceSql(email: string): string {
  return `COALESCE((SELECT jsonb_object_agg(b.instance, b.tenant_id) FROM bi_identities b WHERE b.email = ${email}), '{}'::jsonb)`;
}
