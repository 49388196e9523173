import type { TargetView } from '../catalog/dto/target-input';
import { grafanaSetupGuide } from '../products/grafana/setup-guide';

/**
 * What an operator types into the BI product's own admin screen to trust us, per product
 * (the products' contracts, README). Values are exact; secrets are never shown (they are write-only here too:
 * the operator copies the key the product generated INTO this target, not out of it).
 */
export interface SetupGuide {
  where: string;
  items: { label: string; value?: string; note?: string }[];
}

type Guide = (t: TargetView, publicUrl: string, productGroups: string[]) => SetupGuide;

const setting = (t: TargetView, key: string, def: string) => (typeof t.settings[key] === 'string' && t.settings[key] !== '' ? (t.settings[key] as string) : def);
const groupsNote = (groups: string[]) =>
  groups.length ? `Create these groups there (names exactly): ${groups.join(', ')}` : 'No access grant maps groups to this target yet.';
const origins = (t: TargetView) => (Array.isArray(t.settings.allowedOrigins) ? (t.settings.allowedOrigins as string[]).join(' ') : '');

const GUIDES: Record<string, Guide> = {
  metabase: (t, url, groups) => ({
    where: 'Metabase: Admin settings > Authentication > JWT',
    items: [
      { label: 'JWT Identity Provider URI', value: `${url}/sso/${t.slug}` },
      { label: 'String used by the JWT signing key', note: 'Generate it in Metabase, then paste it into this target\'s "JWT signing key" below.' },
      { label: 'Email attribute', value: setting(t, 'emailClaim', 'email') },
      { label: 'First name attribute', value: setting(t, 'firstNameClaim', 'first_name') },
      { label: 'Last name attribute', value: setting(t, 'lastNameClaim', 'last_name') },
      { label: 'Group assignment attribute', value: setting(t, 'groupsClaim', 'groups') },
      { label: 'Synchronize group memberships', value: 'on', note: groupsNote(groups) },
      ...(origins(t) ? [{ label: 'Admin > Embedding: authorized origins', value: origins(t) }] : []),
    ],
  }),
  sisense: (t, url, groups) => ({
    where: 'Sisense: Admin > Security & Access > Single Sign-On (JWT)',
    items: [
      { label: 'Remote Login URL', value: `${url}/sso/${t.slug}` },
      { label: 'Remote Logout URL', value: `${url}/sso/${t.slug}/logout` },
      { label: 'Shared Secret', note: 'Generate it in Sisense, then paste it into this target\'s "SSO shared secret" below.' },
      { label: 'Groups', note: groupsNote(groups) },
      ...(origins(t) ? [{ label: 'Admin > Security: CORS allowed origins', value: origins(t) }] : []),
    ],
  }),
  databricks: (t) => ({
    where: 'Databricks: workspace Settings > Security > External embedding',
    items: [
      { label: 'Service principal (application id)', value: setting(t, 'clientId', '(set it below)') },
      { label: 'Approved domains', value: origins(t) || '(set allowed origins below)' },
      { label: 'OAuth secret', note: 'Create it for the service principal, then paste it into this target\'s secret below.' },
    ],
  }),
  grafana: grafanaSetupGuide,
};

export function setupGuide(t: TargetView, publicUrl: string, productGroups: string[]): SetupGuide | null {
  return GUIDES[t.kind]?.(t, publicUrl, productGroups) ?? null;
}
