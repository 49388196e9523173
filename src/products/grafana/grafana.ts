import { absoluteHttpUrl, originOf, safeLocalPath } from '../../common/redirects';
import type { TargetSettings } from '../product-types';
import { ASYMMETRIC_ALGS, AsymmetricAlg, defineTarget, MintContext, schemas, SsoBehaviour } from '../product-definition';
import { claimNameClashes, mapGroups } from '../claims';
import type { ObjectSchema } from '../settings-schema';
import { grafanaAudience, grafanaSetupGuide } from './setup-guide';

/**
 * Grafana, `[auth.jwt]` with `url_login = true` (grafana.com/docs/grafana/latest/setup-grafana/
 * configure-security/configure-authentication/jwt/): the browser arrives at
 * `<grafana><path>?auth_token=<jwt>`, Grafana verifies the signature with our JWKS
 * (`jwk_set_url`, cached 60 min by default) and signs the user in. Asymmetric keys only:
 * a shared secret would have to be pasted into every Grafana, and anyone holding it could
 * mint tokens.
 */

const DEFAULT_ALG: AsymmetricAlg = 'RS256';
const DEFAULT_EMAIL_CLAIM = 'email';
const DEFAULT_LOGIN_CLAIM = 'login';
const DEFAULT_NAME_CLAIM = 'name';
const DEFAULT_ROLE_CLAIM = 'role';
/** The token only opens a Grafana session (Grafana then keeps its own): keep it short. */
const DEFAULT_TTL_SECONDS = 120;

/**
 * Grafana's organization roles, lowest first (role_attribute_path must yield one of them;
 * `GrafanaAdmin` is the server admin, granted only with allow_assign_grafana_admin).
 */
export const GRAFANA_ROLES = ['None', 'Viewer', 'Editor', 'Admin', 'GrafanaAdmin'] as const;

type Target = MintContext['target'];
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const claim = (s: TargetSettings, key: string, def: string) => str(s[key]) ?? def;

export function grafanaAlg(settings: TargetSettings): AsymmetricAlg {
  const v = settings.alg;
  return typeof v === 'string' && (ASYMMETRIC_ALGS as readonly string[]).includes(v) ? (v as AsymmetricAlg) : DEFAULT_ALG;
}

function base(target: Pick<Target, 'baseUrl'>): string {
  return target.baseUrl.replace(/\/+$/, '');
}

/**
 * The highest Grafana role the user's groups map to (access group mappings: local group ->
 * ["Editor"]); names that are not Grafana roles are ignored. None mapped: no claim, so
 * Grafana applies its own default (auto_assign_org_role, or refuses with role_attribute_strict).
 */
export function grafanaRole(groups: string[], mappings: Record<string, string[]>): string | null {
  const mapped = mapGroups(groups, mappings);
  let best = -1;
  for (const m of mapped) best = Math.max(best, (GRAFANA_ROLES as readonly string[]).indexOf(m));
  return best >= 0 ? GRAFANA_ROLES[best] : null;
}

function ttlSeconds(settings: TargetSettings): number {
  const v = settings.tokenTtlSeconds;
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : DEFAULT_TTL_SECONDS;
}

const sso: SsoBehaviour = {
  // Grafana verifies RS256/ES256 with the JWKS; the kid header picks the key (key_id / JWKS).
  signing: { keyPair: grafanaAlg, header: () => ({}) },
  ttlSeconds,
  json: false,
  // Grafana finds the user by the login/email claims; both carry the user's email.
  identityEmail: (ctx) => ctx.user.email,
  claims(ctx, exp) {
    const s = ctx.target.settings;
    const name = [ctx.user.firstName, ctx.user.lastName].filter(Boolean).join(' ');
    const payload: Record<string, unknown> = {
      // Grafana requires sub; the email is what an operator recognises in Grafana's user list.
      sub: ctx.user.email,
      [claim(s, 'emailClaim', DEFAULT_EMAIL_CLAIM)]: ctx.user.email,
      [claim(s, 'loginClaim', DEFAULT_LOGIN_CLAIM)]: ctx.user.email,
    };
    if (name) payload[claim(s, 'nameClaim', DEFAULT_NAME_CLAIM)] = name;
    const role = grafanaRole(ctx.groups, ctx.access.groupMappings);
    if (role) payload[claim(s, 'roleClaim', DEFAULT_ROLE_CLAIM)] = role;
    // The audience is this Grafana (its origin), which the setup guide makes Grafana require
    // (`expect_claims`): Grafana checks only the signature otherwise, so a Grafana given a JWKS
    // that also holds another target's keys would accept that target's tokens.
    payload.aud = grafanaAudience(ctx.target);
    // Grafana checks exp and iat (go-jose, 1 min leeway); jti is our ledger's.
    payload.iat = ctx.iat;
    payload.exp = exp;
    payload.jti = ctx.jti;
    return payload;
  },
  redirect: {
    /** Grafana's own paths only (relative, or an absolute URL on its origin): never an open redirect. */
    normaliseReturnTo(raw, target) {
      if (raw === undefined || raw === '') return '/';
      if (raw.startsWith('/')) return safeLocalPath(raw);
      const u = absoluteHttpUrl(raw);
      return u && u.origin === originOf(target.baseUrl) ? u.href : null;
    },
    // url_login: Grafana reads the token from the auth_token query parameter of any page.
    url: (ctx, jwt, returnTo) => {
      const to = returnTo.startsWith('/') ? `${base(ctx.target)}${returnTo}` : returnTo;
      const hash = to.indexOf('#');
      const [path, fragment] = hash >= 0 ? [to.slice(0, hash), to.slice(hash)] : [to, ''];
      return `${path}${path.includes('?') ? '&' : '?'}auth_token=${encodeURIComponent(jwt)}${fragment}`;
    },
  },
};

/** Claims we always set ourselves; a configured name must not overwrite one of them. */
const RESERVED_CLAIMS = ['sub', 'iat', 'exp', 'jti', 'nbf', 'iss', 'aud'];

const settingsSchema: ObjectSchema = {
  type: 'object',
  properties: {
    alg: { type: 'string', title: 'Signing algorithm', description: 'RS256 or ES256: the algorithm of the keys generated for this target (default RS256; a change takes effect with the next key rotation)', enum: [...ASYMMETRIC_ALGS] },
    emailClaim: { ...schemas.claimName('email_claim in Grafana (default email)'), title: 'Email claim' },
    loginClaim: { ...schemas.claimName('username_claim in Grafana (default login)'), title: 'Login claim' },
    nameClaim: { ...schemas.claimName('The display-name claim (default name)'), title: 'Name claim' },
    roleClaim: { ...schemas.claimName('The claim role_attribute_path reads (default role)'), title: 'Role claim' },
    tokenTtlSeconds: { type: 'integer', title: 'Token lifetime (s)', minimum: 30, maximum: 600, default: DEFAULT_TTL_SECONDS },
  },
  additionalProperties: false,
};

const accessSettingsSchema: ObjectSchema = { type: 'object', properties: {}, additionalProperties: false };

/** Grafana: JWT sign-in by URL (`[auth.jwt]`, url_login), verified with our JWKS. */
export const grafana = defineTarget({
  kind: 'grafana',
  label: 'Grafana',
  settingsSchema,
  accessSettingsSchema,
  examples: {
    baseUrl: 'https://grafana.example.com',
    settings: { alg: 'RS256', emailClaim: 'email', loginClaim: 'login', nameClaim: 'name', roleClaim: 'role', tokenTtlSeconds: 120 },
    accessSettings: {},
  },
  secrets: [],
  checkSettings(s) {
    const problems: string[] = [];
    claimNameClashes(
      problems,
      [
        ['emailClaim', claim(s, 'emailClaim', DEFAULT_EMAIL_CLAIM)],
        ['loginClaim', claim(s, 'loginClaim', DEFAULT_LOGIN_CLAIM)],
        ['nameClaim', claim(s, 'nameClaim', DEFAULT_NAME_CLAIM)],
        ['roleClaim', claim(s, 'roleClaim', DEFAULT_ROLE_CLAIM)],
      ],
      { claims: RESERVED_CLAIMS, what: 'reserved' },
    );
    return problems;
  },
  sso,
  setupGuide: grafanaSetupGuide,
});
