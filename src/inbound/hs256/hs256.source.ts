import { Injectable } from '@nestjs/common';
import type { Checked, HandoffSource, IdentifiedHandoff, UnverifiedToken } from '../inbound-source';
import { emailOf, profileOf, verifyAssertion } from './assertion';
import { IssuerLookup } from '../issuer-lookup';
import { HandoffKeys } from './handoff-keys';

/**
 * The hand-off assertion (README, "Host-app hand-off"): HS256 with a secret we issued to the
 * tenant, `iss` = the tenant's slug. Asked last: any `iss` no other source claims is a slug.
 */
@Injectable()
export class Hs256HandoffSource implements HandoffSource {
  constructor(
    private readonly lookup: IssuerLookup,
    private readonly keys: HandoffKeys,
  ) {}

  async identify(token: UnverifiedToken): Promise<Checked<IdentifiedHandoff>> {
    // The tenant and its switches and secrets: read with the trusted issuers' (IssuerLookup).
    const found = (await this.lookup.of(token)).hs256;
    if (!found) return { ok: false, reason: 'unknown_tenant', detail: { iss: token.iss.slice(0, 100) } };
    const { tenant, state } = found;
    if (!state.secrets.length) return { ok: false, reason: 'handoff_not_configured', tenantId: tenant.id };
    const keys = state.secrets.map((s) => this.keys.keyFor(tenant.id, s.id, s.sealed));
    return {
      ok: true,
      value: {
        tenant,
        source: 'hs256',
        verify: async (now) => {
          const verified = await verifyAssertion(token.raw, keys, now);
          if (!verified.ok) return verified;
          const claims = verified.value;
          const p = profileOf(claims);
          return {
            ok: true,
            value: {
              onceKey: claims.jti,
              jti: claims.jti,
              exp: claims.exp,
              profile: { email: emailOf(claims) ?? undefined, firstName: p.firstName, lastName: p.lastName, attributes: p.attributes, groups: p.groups },
              jitProvisioning: state.jitProvisioning,
              syncGroups: state.syncGroups,
            },
          };
        },
      },
    };
  }
}
