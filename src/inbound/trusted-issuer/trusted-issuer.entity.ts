import { Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique, UpdateDateColumn } from 'typeorm';
import { Tenant } from '../../tenants/tenant.entity';

/**
 * An OIDC issuer a tenant trusts for hand-offs (README, "Hand-off with the host's own identity
 * provider"). (issuer, audience) is unique across tenants: the token's own iss and aud say
 * which tenant it is for.
 */
@Entity({ name: 'trusted_issuers' })
@Unique('uq_trusted_issuers_issuer_audience', ['issuer', 'audience'])
@Index('ix_trusted_issuers_tenant', ['tenantId'])
export class TrustedIssuer {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId: string;

  /** Compared with `iss` exactly (OpenID Connect Core §3.1.3.7); discovery at <issuer>/.well-known/openid-configuration. */
  @Column({ type: 'text' })
  issuer: string;

  /** The client id (or API identifier) the tokens are issued to: one of `aud`. */
  @Column({ type: 'text' })
  audience: string;

  /** Asymmetric JWS algorithms accepted (RFC 8725 §3.1: the verifier chooses). */
  @Column({ type: 'text', array: true, default: () => "'{RS256}'" })
  algorithms: string[];

  @Column({ name: 'claim_email', type: 'text', default: 'email' })
  claimEmail: string;

  @Column({ name: 'claim_first_name', type: 'text', default: 'given_name' })
  claimFirstName: string;

  @Column({ name: 'claim_last_name', type: 'text', default: 'family_name' })
  claimLastName: string;

  /** A claim name or dotted path to an array of group names; null: groups are not read. */
  @Column({ name: 'claim_groups', type: 'text', nullable: true })
  claimGroups: string | null;

  /** Seconds since `auth_time` (else `iat`) after which a token is refused. */
  @Column({ name: 'max_token_age_seconds', type: 'integer', default: 300 })
  maxTokenAgeSeconds: number;

  @Column({ name: 'jit_provisioning', type: 'boolean', default: false })
  jitProvisioning: boolean;

  @Column({ name: 'sync_groups', type: 'boolean', default: false })
  syncGroups: boolean;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;

  @ManyToOne(() => Tenant, { onDelete: 'CASCADE', nullable: false })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'trusted_issuers_tenant_id_fkey' })
  tenant?: Tenant;
}
