import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { normaliseEmail } from '../../common/identifiers';
import { DomainError } from '../../common/errors';
import { TenantsService } from '../../tenants/tenants.service';
import type { Checked, HandoffSource, IdentifiedHandoff, UnverifiedToken } from '../inbound-source';
import { CLOCK_SKEW_SECONDS, OidcIssuers } from '../oidc-issuers';
import { claimAt, groupsFrom } from '../claim-path';
import { IssuerLookup } from '../issuer-lookup';
import { MAX_TOKEN_AGE } from './dto/trusted-issuer.dto';

/** A jti longer than this is accepted once by its hash (the consumed-id column is 200 characters). */
const MAX_JTI_KEPT = 120;

/**
 * A token from an OIDC issuer the tenant trusts (README, "Hand-off with the host's own
 * identity provider"): an ID token or a JWT access token the host app already holds. Its `iss`
 * and `aud` pick the tenant ((issuer, audience) is unique); the issuer's published keys verify it.
 */
@Injectable()
export class TrustedIssuerHandoffSource implements HandoffSource {
  constructor(
    private readonly lookup: IssuerLookup,
    private readonly oidc: OidcIssuers,
    private readonly tenants: TenantsService,
  ) {}

  async identify(token: UnverifiedToken): Promise<Checked<IdentifiedHandoff> | null> {
    // With the HS256 source's tenant read, in one statement (IssuerLookup).
    const rows = (await this.lookup.of(token)).trusted;
    if (!rows.length) return null;
    const aud = token.payload.aud;
    const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [];
    const row = rows.find((r) => audiences.includes(r.audience));
    if (!row) {
      return { ok: false, reason: 'wrong_audience', tenantId: rows.length === 1 ? rows[0].tenantId : undefined, detail: { iss: token.iss, aud: JSON.stringify(aud ?? null).slice(0, 200) } };
    }
    let tenant;
    try {
      tenant = await this.tenants.findById(row.tenantId);
    } catch (e) {
      if (e instanceof DomainError && e.status === 404) return null;
      throw e;
    }
    return {
      ok: true,
      value: {
        tenant,
        source: 'trusted_issuer',
        verify: async (now) => {
          const verified = await this.oidc.verify(
            token.raw,
            token.header,
            { issuer: row.issuer, audience: row.audience, algorithms: row.algorithms, maxAgeSeconds: row.maxTokenAgeSeconds },
            now,
          );
          if (!verified.ok) return { ...verified, detail: { trustedIssuerId: row.id, ...verified.detail } };
          const claims = verified.value as Record<string, unknown>;
          // OpenID Connect Core §5.1: an email the provider says it has not verified does not
          // prove the person owns it; signing them in as that email's user would.
          if (claims.email_verified === false) return { ok: false, reason: 'email_not_verified' };
          const rawEmail = claimAt(claims, row.claimEmail);
          const jti = typeof claims.jti === 'string' && claims.jti && claims.jti.length <= MAX_JTI_KEPT ? claims.jti : null;
          // Accepted once: by jti when the issuer sets one, else by the token's own hash (ID
          // tokens often have no jti), on the consumed ids' (tenant, id) key, per issuer: a jti
          // is unique per issuer (RFC 7519 §4.1.7). Keyed by the issuer URL, not by its row,
          // so a token spent before the issuer was deleted and added again stays spent.
          const id = jti ?? `sha256:${createHash('sha256').update(token.raw).digest('hex')}`;
          const issuerKey = createHash('sha256').update(row.issuer).digest('hex').slice(0, 32);
          const authTime = typeof claims.auth_time === 'number' ? claims.auth_time : (claims.iat as number);
          return {
            ok: true,
            value: {
              onceKey: `oidc:${issuerKey}:${id}`,
              // The previous release keyed it by the issuer's row: taken too, so a rolling
              // upgrade does not let a token be spent once on each release. Drop it in the
              // release after (its tokens are then long expired).
              previousOnceKey: `oidc:${row.id}:${id}`,
              jti: id,
              // Kept until no setting could accept it again: its exp (with the skew), or the
              // largest age limit an operator may set — not today's limit, which may be raised
              // after this row is pruned and would make the spent token good again.
              exp: Math.min((claims.exp as number) + CLOCK_SKEW_SECONDS, authTime + MAX_TOKEN_AGE),
              profile: {
                email: typeof rawEmail === 'string' ? normaliseEmail(rawEmail) : undefined,
                firstName: claimAt(claims, row.claimFirstName),
                lastName: claimAt(claims, row.claimLastName),
                groups: row.claimGroups ? groupsFrom(claimAt(claims, row.claimGroups)) : undefined,
              },
              jitProvisioning: row.jitProvisioning,
              syncGroups: row.syncGroups,
            },
          };
        },
      },
    };
  }
}
