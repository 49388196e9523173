import { secretStep, type SetupGuide, type SetupTarget } from '../product-definition';
import { originsOf, settingOr } from '../setup-guide';

/**
 * What the operator puts into superset_config.py (then restarts Superset) and on each
 * dashboard's "Embed dashboard" dialog. Names as Superset's config.py spells them.
 */
export function supersetSetupGuide(t: SetupTarget, publicUrl: string): SetupGuide {
  const sign = t.settings.mode === 'sign';
  const origins = originsOf(t);
  const frameAncestors = origins ? origins.split(' ') : ['https://app.example.com'];
  const config = [
    'FEATURE_FLAGS = {"EMBEDDED_SUPERSET": True}',
    '# The role every guest token user gets: read access to the embedded dashboards\' datasets only.',
    'GUEST_ROLE_NAME = "EmbedGuest"',
    ...(sign
      ? [
          'GUEST_TOKEN_JWT_SECRET = "<the same value as this target\'s secret>"',
          `GUEST_TOKEN_JWT_ALGO = "${settingOr(t, 'algorithm', 'HS256')}"`,
          `GUEST_TOKEN_JWT_AUDIENCE = "${settingOr(t, 'audience', '<this target\'s audience>')}"`,
          `GUEST_TOKEN_JWT_EXP_SECONDS = ${typeof t.settings.tokenTtlSeconds === 'number' ? t.settings.tokenTtlSeconds : 300}`,
        ]
      : []),
    '# Let the host app frame Superset (Talisman sets the CSP; no X-Frame-Options: SAMEORIGIN).',
    'TALISMAN_CONFIG = {',
    '    "content_security_policy": {',
    `        "frame-ancestors": ${JSON.stringify(frameAncestors)},`,
    '        # ...keep the rest of your content_security_policy',
    '    },',
    '    "frame_options": None,',
    '}',
    '# The SDK frames Superset and talks to it by postMessage: no CORS needed for it.',
    '# ENABLE_CORS / CORS_OPTIONS only if your host page calls Superset\'s API itself.',
  ].join('\n');
  return {
    where: 'Superset: superset_config.py (then restart Superset), and each dashboard\'s "Embed dashboard" dialog',
    items: [
      { label: 'superset_config.py', value: config, note: 'Create the EmbedGuest role (Settings > List Roles) with read access to the embedded dashboards\' datasets.' },
      sign
        ? secretStep(t, 'secret', 'GUEST_TOKEN_JWT_SECRET', 'e.g. openssl rand -base64 48; at least 32 characters', 'secret')
        : {
            label: 'Service account (api mode)',
            value: settingOr(t, 'username', '(set its username below)'),
            note: t.secretsSet?.includes('password')
              ? 'Password set. Its role needs can_grant_guest_token on SecurityRestApi (and read access to the dashboards).'
              : 'Create a Superset user (Settings > List Users) whose role has can_grant_guest_token on SecurityRestApi and read access to the dashboards; put its username in this target\'s settings and its password (at least 16 characters) into this target\'s password secret below.',
          },
      { label: 'Embed dashboard > Allowed domains', value: origins || '(your host app\'s origins)', note: 'Enable embedding on each dashboard and copy its uuid into the tenants\' access (Embedded dashboards).' },
      { label: 'Host page: guest token URL', value: `${publicUrl}/embed/${t.slug}/superset/<embedded dashboard uuid>/guest-token`, note: 'fetchGuestToken: fetch it (GET or POST) with credentials and return its `token`.' },
    ],
  };
}
