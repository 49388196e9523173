import { Check, Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

export const TARGET_KINDS = ['metabase', 'sisense', 'databricks'] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

/**
 * Product settings, validated per kind by the target definitions in sso/targets/.
 * Common keys: claim names, tokenTtlSeconds, allowedOrigins (embedding origins for CORS /
 * absolute return_to), logoutLandingUrl; Metabase: tenantsEnabled, embedTtlSeconds;
 * Databricks: clientId, workspaceId.
 */
export type TargetSettings = Record<string, unknown>;

/** One BI instance. Secrets are sealed with SecretBox (AES-256-GCM under SECRETS_KEY). */
@Entity({ name: 'targets' })
@Check('ck_targets_slug', `slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'`)
@Check('ck_targets_kind', `kind IN ('metabase', 'sisense', 'databricks')`)
export class Target {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'varchar', length: 63, unique: true })
  slug: string;

  @Column({ type: 'varchar', length: 20 })
  kind: TargetKind;

  @Column({ type: 'varchar', length: 200, default: '' })
  name: string;

  @Column({ name: 'base_url', type: 'text' })
  baseUrl: string;

  /** JWT shared secret (Metabase/Sisense) or service-principal secret (Databricks). */
  @Column({ name: 'secret_enc', type: 'text', nullable: true, select: false })
  secretEnc: string | null;

  /** Metabase static-embedding secret key. */
  @Column({ name: 'embedding_secret_enc', type: 'text', nullable: true, select: false })
  embeddingSecretEnc: string | null;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  settings: TargetSettings;

  @Column({ type: 'boolean', default: false })
  disabled: boolean;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
