import { resolveAttribute } from '../attributes';
import { mapGroups } from '../claims';
import type { AccessSettings, TargetSettings } from '../product-types';
import { defineTarget, schemas, Signing, TokenBehaviour } from '../product-definition';
import type { ArraySchema, ObjectSchema } from '../settings-schema';
import { groupsNote, originsOf, settingOr } from '../setup-guide';
import { sigmaDemo } from './demo';

/**
 * Sigma Computing, JWT embedding (Sigma's "JSON Web Token claims reference"): the host page
 * iframes `<sigma>/<org>/workbook/<workbook>?:jwt=<token>&:embed=true`. What we follow:
 *
 * - HS256 with the embed secret; header `kid` = the embed client id;
 * - `sub` (the email Sigma keys the embed user by), `jti`, `iat`, `exp` (`exp - iat` may be
 *   up to 30 days in Sigma; we keep it to minutes: the URL is the credential), `ver: "1.1"`;
 * - optional `first_name`, `last_name`, `user_attributes` (an object, for row-level security
 *   through CurrentUserAttributeText()), `account_type` (an account type of the organization),
 *   `teams` (team names, which must exist in Sigma).
 *
 * `GET /embed/<target>/workbook/<workbook>` redirects to that URL (or answers `{url}` with
 * ?response=json for a host page that sets the iframe itself).
 */
const DEFAULT_TTL_SECONDS = 300;
const MAX_TTL_SECONDS = 3600;
/** Sigma's workbook URL part: `<Workbook-Name>-<workbook id>` (letters, digits, - and _). */
const WORKBOOK = /^[A-Za-z0-9_-]{1,200}$/;

interface SigmaAccess {
  userAttributes?: string[];
  accountType?: string;
}
const accessOf = (s: AccessSettings): SigmaAccess => s as SigmaAccess;

function ttlSeconds(settings: TargetSettings): number {
  const v = settings.tokenTtlSeconds;
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? Math.min(v, MAX_TTL_SECONDS) : DEFAULT_TTL_SECONDS;
}

// Sigma's rule: HS256, kid = the embed client id.
const signing: Signing = { alg: 'HS256', secret: 'secret', header: (target) => ({ typ: 'JWT', kid: String(target.settings.clientId ?? '') }) };

const token: TokenBehaviour = {
  signing,
  ttlSeconds,
  // Sigma keys embed users by email: the identity rule applies.
  identityEmail: (ctx) => ctx.user.email,
  claims(ctx, exp) {
    const access = accessOf(ctx.access.settings);
    const payload: Record<string, unknown> = { sub: ctx.user.email, jti: ctx.jti, iat: ctx.iat, exp, ver: '1.1' };
    if (ctx.user.firstName) payload.first_name = ctx.user.firstName;
    if (ctx.user.lastName) payload.last_name = ctx.user.lastName;
    // Only the attributes the access lists, each by the one precedence (access > user > tenant),
    // as strings (Sigma's user attributes are text).
    const attributes: Record<string, string> = {};
    for (const name of access.userAttributes ?? []) {
      const v = resolveAttribute(ctx, name);
      if (v !== undefined) attributes[name] = String(v);
    }
    if (Object.keys(attributes).length) payload.user_attributes = attributes;
    // Teams must exist in Sigma; no claim when nothing maps (an empty list is not "no change").
    const teams = mapGroups(ctx.groups, ctx.access.groupMappings ?? {});
    if (teams.length) payload.teams = teams;
    if (access.accountType) payload.account_type = access.accountType;
    return payload;
  },
  link: {
    resource: 'workbook',
    path: WORKBOOK,
    url: (target, workbook, jwt) => {
      const base = target.baseUrl.replace(/\/+$/, '');
      const org = encodeURIComponent(String(target.settings.organization ?? ''));
      return `${base}/${org}/workbook/${encodeURIComponent(workbook)}?:jwt=${encodeURIComponent(jwt)}&:embed=true`;
    },
  },
};

const USER_ATTRIBUTES: ArraySchema = schemas.userAttributes('Attributes (access, else user, else tenant) sent in user_attributes (none when unset or empty)');

const settingsSchema: ObjectSchema = {
  type: 'object',
  properties: {
    clientId: {
      type: 'string',
      title: 'Embed client ID',
      description: 'Administration > Developer access: the embed client ID (the kid header)',
      pattern: '^[A-Za-z0-9_-]{1,200}$',
      'x-pattern-message': 'the embed client ID',
    },
    organization: {
      type: 'string',
      title: 'Organization',
      description: 'The organization\'s URL name: https://app.sigmacomputing.com/<organization>/…',
      pattern: '^[A-Za-z0-9_-]{1,100}$',
      'x-pattern-message': 'the organization part of Sigma URLs (letters, digits, - and _)',
    },
    tokenTtlSeconds: { type: 'integer', title: 'Token lifetime (s)', minimum: 30, maximum: MAX_TTL_SECONDS, default: DEFAULT_TTL_SECONDS },
    allowedOrigins: schemas.allowedOrigins('Origins of host apps asking for workbook URLs as JSON (CORS with credentials; never *)'),
  },
  required: ['clientId', 'organization'],
  additionalProperties: false,
};

const accessSettingsSchema: ObjectSchema = {
  type: 'object',
  properties: {
    userAttributes: USER_ATTRIBUTES,
    accountType: {
      type: 'string',
      title: 'Account type',
      description: 'The Sigma account type of this tenant\'s users (account_type; Sigma\'s default when unset)',
      maxLength: 100,
      pattern: '^[A-Za-z0-9 _-]{1,100}$',
      'x-pattern-message': 'an account type name (letters, digits, spaces, - and _)',
    },
  },
  additionalProperties: false,
};

/** Sigma: JWT-signed embed URLs for workbooks. */
export const sigma = defineTarget({
  kind: 'sigma',
  label: 'Sigma',
  settingsSchema,
  accessSettingsSchema,
  examples: {
    baseUrl: 'https://app.sigmacomputing.com',
    settings: { clientId: 'a1b2c3d4e5f6a7b8c9d0', organization: 'acme-analytics', tokenTtlSeconds: 300, allowedOrigins: ['https://app.example.com'] },
    accessSettings: { userAttributes: ['region'], accountType: 'Viewer' },
  },
  // Sigma generates the embed secret (64 hex characters).
  secrets: [{ name: 'secret', required: true, minLength: 32, description: 'Developer access: the embed secret' }],
  token,
  demo: sigmaDemo,
  setupGuide: (t, url, groups) => ({
    where: 'Sigma: Administration > Developer access > Create new (Embedding)',
    items: [
      { label: 'Client ID', value: settingOr(t, 'clientId', '(copy it into this target\'s Embed client ID below)') },
      { label: 'Secret', note: 'Copy the secret Sigma shows once into this target\'s secret below.' },
      { label: 'Host page: workbook URL', value: `${url}/embed/${t.slug}/workbook/<Workbook-Name-id>`, note: 'Use it as the iframe src (or add ?response=json for {url}).' },
      { label: 'Teams', note: groupsNote(groups) },
      { label: 'User attributes', note: 'Create the attributes each tenant\'s access lists (Administration > User attributes).' },
      ...(originsOf(t) ? [{ label: 'Allowed origins of the host app', value: originsOf(t) }] : []),
    ],
  }),
});
