import type { SetupGuide, SetupTarget } from '../product-definition';
import { originOf } from '../../common/redirects';

/** The `aud` of a Grafana target's tokens: Grafana's origin, which its `expect_claims` requires. */
export function grafanaAudience(target: Pick<SetupTarget, 'baseUrl'>): string {
  return originOf(target.baseUrl) ?? target.baseUrl.replace(/\/+$/, '');
}

/**
 * What the operator pastes into grafana.ini (or GF_AUTH_JWT_* variables): the `[auth.jwt]`
 * block reading our tokens, with this target's own JWKS (only its keys: a token minted for
 * another target cannot sign anyone in here).
 */
export function grafanaSetupGuide(t: SetupTarget, publicUrl: string, productGroups: string[]): SetupGuide {
  const s = (key: string, def: string) => (typeof t.settings[key] === 'string' && t.settings[key] !== '' ? (t.settings[key] as string) : def);
  const ini = [
    '[auth.jwt]',
    'enabled = true',
    'url_login = true',
    'header_name = X-JWT-Assertion',
    `jwk_set_url = ${publicUrl}/targets/${t.slug}/jwks.json`,
    'cache_ttl = 60m',
    // Grafana then refuses a token minted for any other target (another audience).
    `expect_claims = ${JSON.stringify({ aud: grafanaAudience(t) })}`,
    `username_claim = ${s('loginClaim', 'login')}`,
    `email_claim = ${s('emailClaim', 'email')}`,
    'auto_sign_up = true',
    `role_attribute_path = ${s('roleClaim', 'role')}`,
    'role_attribute_strict = false',
    '',
    '[security]',
    'allow_embedding = true',
  ].join('\n');
  return {
    where: 'Grafana: grafana.ini (or the matching GF_AUTH_JWT_* environment variables), then restart Grafana',
    items: [
      { label: '[auth.jwt] block', value: ini, note: 'allow_embedding only when Grafana is shown in an iframe.' },
      { label: 'Sign-in link', value: `${publicUrl}/sso/${t.slug}?return_to=/d/<dashboard uid>` },
      {
        label: 'Roles',
        note: productGroups.length
          ? `Groups map to: ${productGroups.join(', ')} (the highest of Viewer, Editor, Admin is sent)`
          : 'Map local groups to Viewer, Editor or Admin in the access grants; without one Grafana uses auto_assign_org_role.',
      },
    ],
  };
}
