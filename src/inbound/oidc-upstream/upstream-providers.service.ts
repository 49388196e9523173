import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditService } from '../../audit/audit.service';
import { InjectConfig } from '../../config/config.module';
import { Config } from '../../config/configuration';
import { badRequest, notFound } from '../../common/errors';
import type { RequestMeta } from '../../common/request-meta';
import { SecretBox } from '../../crypto/secret-box';
import { TenantsService } from '../../tenants/tenants.service';
import { issuerUrlProblem, OidcIssuers } from '../oidc-issuers';
import { UpstreamProvider, upstreamSecretContext } from './upstream-provider.entity';

export interface UpstreamProviderInput {
  issuer: string;
  clientId: string;
  clientSecret: string;
  claimGroups?: string | null;
  jitProvisioning?: boolean;
  syncGroups?: boolean;
}

export type UpstreamProviderView = Omit<UpstreamProvider, 'clientSecretEnc' | 'tenant'>;

/** A tenant's own OpenID Connect provider (admin API, global key only). The client secret is write-only. */
@Injectable()
export class UpstreamProvidersService {
  private readonly production: boolean;

  constructor(
    private readonly dataSource: DataSource,
    private readonly tenants: TenantsService,
    private readonly box: SecretBox,
    private readonly audit: AuditService,
    private readonly oidc: OidcIssuers,
    @InjectConfig('app') app: Config<'app'>,
  ) {
    this.production = app.nodeEnv === 'production';
  }

  /** The tenant's provider, or null (no audit, no tenant check: the sign-in path). */
  find(tenantId: string): Promise<UpstreamProvider | null> {
    return this.dataSource.getRepository(UpstreamProvider).findOneBy({ tenantId });
  }

  async endSession(tenantId: string): Promise<{ url: string; name: string } | null> {
    const p = await this.find(tenantId);
    if (!p) return null;
    let endpoint: string | undefined;
    try {
      endpoint = (await this.oidc.metadata(p.issuer)).end_session_endpoint;
    } catch {
      // The IdP unreachable at logout: our session is ended anyway; no link.
      return null;
    }
    if (typeof endpoint !== 'string' || issuerUrlProblem(endpoint, this.production)) return null;
    const url = new URL(endpoint);
    // OpenID Connect RP-Initiated Logout 1.0 §2: without an id_token_hint (we keep no ID
    // token), client_id says which client asks; the IdP then asks the person to confirm
    // and shows its own signed-out page (no post_logout_redirect_uri: it would have to be
    // registered at the IdP as well).
    url.searchParams.set('client_id', p.clientId);
    return { url: url.toString(), name: new URL(p.issuer).host };
  }

  async hasProvider(tenantId: string): Promise<boolean> {
    return this.dataSource.getRepository(UpstreamProvider).existsBy({ tenantId });
  }

  clientSecret(p: UpstreamProvider): string {
    return this.box.open(p.clientSecretEnc, upstreamSecretContext(p.tenantId));
  }

  async get(tenantId: string): Promise<UpstreamProviderView> {
    await this.tenants.findById(tenantId);
    const p = await this.find(tenantId);
    if (!p) throw notFound('upstream_provider_not_found');
    return view(p);
  }

  async put(meta: RequestMeta, tenantId: string, input: UpstreamProviderInput): Promise<UpstreamProviderView> {
    await this.tenants.findById(tenantId);
    const problem = issuerUrlProblem(input.issuer, this.production);
    if (problem) throw badRequest('invalid_issuer', `issuer ${problem}`);
    const saved = await this.dataSource.transaction(async (m) => {
      const row = m.getRepository(UpstreamProvider).create({
        tenantId,
        issuer: input.issuer,
        clientId: input.clientId,
        clientSecretEnc: this.box.seal(input.clientSecret, upstreamSecretContext(tenantId)),
        claimGroups: input.claimGroups ?? null,
        jitProvisioning: input.jitProvisioning ?? false,
        syncGroups: input.syncGroups ?? false,
      });
      const s = await m.getRepository(UpstreamProvider).save(row);
      const { clientSecret: _secret, ...rest } = input;
      await this.audit.record(meta, { type: 'upstream_provider.set', tenantId, details: { ...rest } }, m);
      return s;
    });
    return view(saved);
  }

  async remove(meta: RequestMeta, tenantId: string): Promise<void> {
    await this.get(tenantId);
    await this.dataSource.transaction(async (m) => {
      await m.getRepository(UpstreamProvider).delete({ tenantId });
      await this.audit.record(meta, { type: 'upstream_provider.deleted', tenantId, details: {} }, m);
    });
  }
}

function view(p: UpstreamProvider): UpstreamProviderView {
  const { clientSecretEnc: _s, tenant: _t, ...rest } = p;
  return rest;
}
