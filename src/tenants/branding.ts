import type { Brand } from '../common/look';
import type { Tenant } from './tenant.entity';

/** The tenant's look as the pages use it (look.ts checks every value again when rendering). */
export function brandOf(t: Pick<Tenant, 'name' | 'brandDisplayName' | 'brandLogoUrl' | 'brandAccentColor' | 'brandSupportContact' | 'logoutLandingUrl'>): Brand {
  return {
    name: t.brandDisplayName ?? t.name,
    logoUrl: t.brandLogoUrl,
    accentColor: t.brandAccentColor,
    supportContact: t.brandSupportContact,
    appUrl: t.logoutLandingUrl,
  };
}
