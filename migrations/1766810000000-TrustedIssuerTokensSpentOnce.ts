import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A trusted issuer's token (`oidc:<issuer>:<jti or hash>`) is spent once for the issuer, not
 * once per organization: an operator may delete an issuer from one organization and add it
 * to another, and a token spent at the first must not sign in at the second. The hand-offs'
 * primary key is (tenant_id, jti); this unique index on jti alone, for those keys only, makes
 * the consuming INSERT find the row whichever organization spent it.
 *
 * Expand only. The version running before this one inserts with `ON CONFLICT (tenant_id, jti)`:
 * for a token already spent at another organization its insert now fails instead of signing
 * in (an error, never a second use); every other hand-off is unchanged. Rows that would
 * break the index (such a token already spent twice) keep their oldest use.
 */
export class TrustedIssuerTokensSpentOnce1766810000000 implements MigrationInterface {
  name = 'TrustedIssuerTokensSpentOnce1766810000000';

  public async up(q: QueryRunner): Promise<void> {
    await q.query(`
      DELETE FROM handoff_consumed_assertions d
       USING handoff_consumed_assertions k
       WHERE d.jti LIKE 'oidc:%' AND k.jti = d.jti
         AND (k.created_at, k.tenant_id) < (d.created_at, d.tenant_id)`);
    await q.query(`CREATE UNIQUE INDEX uq_handoff_consumed_issuer_tokens ON handoff_consumed_assertions (jti) WHERE jti LIKE 'oidc:%'`);
  }

  public async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX uq_handoff_consumed_issuer_tokens`);
  }
}
