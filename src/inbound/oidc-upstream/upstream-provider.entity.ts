import { Column, CreateDateColumn, Entity, JoinColumn, ManyToOne, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { registerSealedColumn } from '../../crypto/sealed-columns';
import { Tenant } from '../../tenants/tenant.entity';

/** The AES-GCM additional data a provider's client secret is sealed under: it opens only in its own row. */
export const upstreamSecretContext = (tenantId: string) => `upstream-oidc:${tenantId}`;

/**
 * A tenant's own OpenID Connect provider (README, "Company sign-in"): its people sign in there
 * (authorization code + PKCE) and come back signed in here.
 */
@Entity({ name: 'upstream_oidc_providers' })
export class UpstreamProvider {
  @PrimaryColumn({ name: 'tenant_id', type: 'uuid' })
  tenantId: string;

  @Column({ type: 'text' })
  issuer: string;

  @Column({ name: 'client_id', type: 'text' })
  clientId: string;

  /** Sealed (SecretBox, context upstream-oidc:<tenant>); never returned or logged. */
  @Column({ name: 'client_secret_enc', type: 'text' })
  clientSecretEnc: string;

  @Column({ name: 'claim_groups', type: 'text', nullable: true })
  claimGroups: string | null;

  @Column({ name: 'jit_provisioning', type: 'boolean', default: false })
  jitProvisioning: boolean;

  @Column({ name: 'sync_groups', type: 'boolean', default: false })
  syncGroups: boolean;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;

  @ManyToOne(() => Tenant, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'upstream_oidc_providers_tenant_id_fkey' })
  tenant?: Tenant;
}

registerSealedColumn({
  table: 'upstream_oidc_providers',
  keyColumns: ['tenant_id'],
  column: 'client_secret_enc',
  shape: 'value',
  context: (r) => upstreamSecretContext(r.tenant_id),
});
