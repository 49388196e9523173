import { Check, Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { slugCheck } from '../common/identifiers';
import { ACCENT_COLOR } from '../common/look';

export const MFA_POLICIES = ['off', 'optional', 'required'] as const;
export type MfaPolicy = (typeof MFA_POLICIES)[number];

export type FlatAttributes = Record<string, string | number | boolean>;

@Entity({ name: 'tenants' })
@Index('uq_tenants_operator', ['operator'], { unique: true, where: 'operator' })
@Check('ck_tenants_slug', slugCheck('slug'))
// The branding rules of src/common/look.ts, kept by the database too: a row that reaches a
// page can only hold a #rrggbb colour and an https logo.
@Check('ck_tenants_brand_accent_color', `brand_accent_color ~ '${ACCENT_COLOR.source}'`)
@Check('ck_tenants_brand_logo_url', `brand_logo_url ~ '^https://'`)
@Check('ck_tenants_mfa_policy', `mfa_policy IN ('off', 'optional', 'required')`)
export class Tenant {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** A slug (common/identifiers.ts SLUG), unique. */
  @Column({ type: 'varchar', length: 63, unique: true })
  slug: string;

  @Column({ type: 'varchar', length: 200 })
  name: string;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  attributes: FlatAttributes;

  @Column({ type: 'boolean', default: false })
  disabled: boolean;

  /**
   * The platform operators' tenant: its users manage every tenant in /console. At most one
   * (uq_tenants_operator); set only by the operator bootstrap, never through the admin API.
   */
  @Column({ type: 'boolean', default: false })
  operator: boolean;

  /** Where logout may send the user back to (an allowed logout return_to). */
  @Column({ name: 'logout_landing_url', type: 'text', nullable: true })
  logoutLandingUrl: string | null;

  /**
   * Second factor at sign-in with a password we keep: `off` (none asked), `optional` (asked
   * of users who set one up), `required` (a user without one sets one up before the sign-in
   * completes). Hand-offs skip it: the host app signed the person in.
   */
  @Column({ name: 'mfa_policy', type: 'varchar', length: 16, default: 'off' })
  mfaPolicy: MfaPolicy;

  /**
   * Whether its people may sign in with a password we keep when the tenant has its own
   * identity provider (company sign-in). Off: the password form refuses them and sends them to
   * company sign-in; without a provider, or for the operators' tenant, it changes nothing.
   */
  @Column({ name: 'password_sign_in', type: 'boolean', default: true })
  passwordSignIn: boolean;

  /** Branding (login, signed-out and error pages): what the visitor signs in to. null: `name`. */
  @Column({ name: 'brand_display_name', type: 'varchar', length: 200, nullable: true })
  brandDisplayName: string | null;

  /** An https URL of the tenant's logo. */
  @Column({ name: 'brand_logo_url', type: 'varchar', length: 2048, nullable: true })
  brandLogoUrl: string | null;

  /** #rrggbb: buttons and the page's top edge (text on it is black or white, by contrast). */
  @Column({ name: 'brand_accent_color', type: 'varchar', length: 7, nullable: true })
  brandAccentColor: string | null;

  /** An email address or an https URL, shown as "Need help? Contact your organization (“…”): …". */
  @Column({ name: 'brand_support_contact', type: 'varchar', length: 2048, nullable: true })
  brandSupportContact: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
