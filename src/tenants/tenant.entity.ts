import { Check, Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

export type FlatAttributes = Record<string, string | number | boolean>;

@Entity({ name: 'tenants' })
@Check('ck_tenants_slug', `slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'`)
export class Tenant {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** ^[a-z0-9][a-z0-9-]{0,62}$, unique. */
  @Column({ type: 'varchar', length: 63, unique: true })
  slug: string;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  attributes: FlatAttributes;

  @Column({ type: 'boolean', default: false })
  disabled: boolean;

  /** Where logout may send the user back to (an allowed logout return_to). */
  @Column({ name: 'logout_landing_url', type: 'text', nullable: true })
  logoutLandingUrl: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
