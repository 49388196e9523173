import { Check, Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { slugCheck } from '../common/identifiers';
import { registerSealedColumn } from '../crypto/sealed-columns';
import type { TargetKind, TargetSettings } from '../products/product-types';
import { targetSecretContext } from './target-secrets';

export type { TargetKind, TargetSettings } from '../products/product-types';

/** Secret name -> sealed value (SecretBox); which names exist is the product's business. */
export type SealedSecrets = Record<string, string>;

/** One BI instance. Secrets are sealed with SecretBox (AES-256-GCM under SECRETS_KEY). */
@Entity({ name: 'targets' })
@Check('ck_targets_slug', slugCheck('slug'))
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

  /** The product's named secrets, each sealed (write-only in the API, never selected by default). */
  @Column({ type: 'jsonb', default: () => "'{}'", select: false })
  secrets: SealedSecrets;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  settings: TargetSettings;

  @Column({ type: 'boolean', default: false })
  disabled: boolean;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}

// targets.secrets is a map of name -> sealed value (a product adds a secret without a migration).
registerSealedColumn({ table: 'targets', keyColumns: ['id'], column: 'secrets', shape: 'map', context: (r, name) => targetSecretContext(r.id, name) });
