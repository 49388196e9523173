import { badRequest } from '../../common/errors';
import { NOT_SET_UP } from '../../common/error-pages';
import type { AccessSettings, TargetSettings } from '../product-types';
import { ATTRIBUTE_NAME, defineTarget, secretStep, MintContext, schemas, Signing, TokenBehaviour } from '../product-definition';
import { mapGroups } from '../claims';
import { resolveAttribute } from '../attributes';
import type { ArraySchema, ObjectSchema } from '../settings-schema';
import { originsOf, settingOr } from '../setup-guide';
import { tableauDemo } from './demo';

/**
 * Tableau Cloud / Server, Connected Apps with direct trust (Embedding API v3): the host page
 * puts our token in `<tableau-viz token="…">`, so the token is answered as JSON
 * (`GET /embed/<target>/token`), never a redirect. Followed: Tableau's "Use Tableau connected
 * apps for application integration" (direct trust), its troubleshooting page's error codes,
 * and the tableau/connected-apps-jwt-samples repository:
 *
 * - HS256 with the connected app's secret value; header `kid` = the secret id, `iss` = the
 *   client id (both in the header, not the payload);
 * - payload `jti` (unique: Tableau refuses a replay), `aud: "tableau"`, `sub` (the Tableau
 *   username, case-sensitive), `scp` (array of scopes), `iat`, `exp` at most 10 minutes ahead
 *   (more is error 16, LOGIN_FAILED);
 * - user attributes (for USERATTRIBUTE() in data policies) as extra top-level claims, read by
 *   Tableau only when the site captures them; on-demand access adds
 *   `https://tableau.com/oda: true` and `https://tableau.com/groups`.
 */
export enum TableauError {
  UsernameMissing = 'tableau_username_missing',
}

/** Tableau's rule: exp at most 10 minutes after the token is made. */
const MAX_TTL_SECONDS = 600;
const DEFAULT_TTL_SECONDS = 300;
const DEFAULT_SCOPES = ['tableau:views:embed'];
/** The scopes Tableau documents for embedding with a connected app. */
const SCOPES = ['tableau:views:embed', 'tableau:views:embed_authoring', 'tableau:insights:embed', 'tableau:metrics:embed'];
const ODA = 'https://tableau.com/oda';
const ODA_GROUPS = 'https://tableau.com/groups';
/** Claims we set ourselves: an attribute of the same name would replace one (refused when listed). */
const RESERVED_CLAIMS = ['jti', 'aud', 'sub', 'scp', 'exp', 'iat', 'nbf', 'iss', 'kid', ODA, ODA_GROUPS];

interface TableauAccess {
  userAttributes?: string[];
  onDemandAccess?: boolean;
}
const accessOf = (s: AccessSettings): TableauAccess => s as TableauAccess;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function ttlSeconds(settings: TargetSettings): number {
  const v = settings.tokenTtlSeconds;
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? Math.min(v, MAX_TTL_SECONDS) : DEFAULT_TTL_SECONDS;
}

/** Where the Tableau username comes from: `email` (the user's), or an attribute's value. */
function username(ctx: Pick<MintContext, 'target' | 'access' | 'user' | 'tenant'>): string {
  const source = str(ctx.target.settings.usernameClaim) ?? 'email';
  if (source === 'email') return ctx.user.email;
  const v = resolveAttribute(ctx, source);
  if (v === undefined || String(v) === '') {
    throw badRequest(TableauError.UsernameMissing, `The Tableau username comes from attribute "${source}", which neither the access, the user nor the tenant has`, { attribute: source });
  }
  return String(v);
}

// Tableau's rule: HS256; kid = the secret id, iss = the client id, in the header.
const signing: Signing = {
  alg: 'HS256',
  secret: 'secret',
  header: (target) => ({ typ: 'JWT', kid: String(target.settings.secretId ?? ''), iss: String(target.settings.clientId ?? '') }),
};

const token: TokenBehaviour = {
  signing,
  ttlSeconds,
  // Tableau keys users by username: when that is the email, the identity rule applies.
  identityEmail: (ctx) => ((str(ctx.target.settings.usernameClaim) ?? 'email') === 'email' ? ctx.user.email : null),
  claims(ctx, exp) {
    const s = ctx.target.settings;
    const access = accessOf(ctx.access.settings);
    const payload: Record<string, unknown> = {};
    // Only the attributes the access lists, each by the one precedence (access > user > tenant).
    for (const name of access.userAttributes ?? []) {
      if (RESERVED_CLAIMS.includes(name)) continue;
      const v = resolveAttribute(ctx, name);
      if (v !== undefined) payload[name] = v;
    }
    if (access.onDemandAccess === true) {
      payload[ODA] = true;
      payload[ODA_GROUPS] = mapGroups(ctx.groups, ctx.access.groupMappings ?? {});
    }
    payload.jti = ctx.jti;
    // Tableau's own samples (tableau/connected-apps-jwt-samples) send the client id as iss in the
    // payload as well as in the header; sending both matches every Tableau release they target.
    payload.iss = String(s.clientId ?? '');
    payload.aud = 'tableau';
    payload.sub = username(ctx);
    // An empty list is refused when saved (checkSettings): absent means the default.
    payload.scp = Array.isArray(s.scopes) ? s.scopes : DEFAULT_SCOPES;
    payload.iat = ctx.iat;
    // Never more than 10 minutes ahead, whatever the caller asked.
    payload.exp = Math.min(exp, ctx.iat + MAX_TTL_SECONDS);
    return payload;
  },
  json: {},
};

const SCOPES_SCHEMA: ArraySchema = {
  type: 'array',
  title: 'Scopes',
  description: `The scp claim (default ${DEFAULT_SCOPES.join(', ')})`,
  maxItems: SCOPES.length,
  items: { type: 'string', enum: SCOPES },
  // Absent: the default scope above; a present list grants exactly its scopes (never an empty one: refused).
  'x-allow-list': { unset: 'none' },
};

const USER_ATTRIBUTES: ArraySchema = schemas.userAttributes('Attributes (access, else user, else tenant) sent as claims for USERATTRIBUTE() (none when unset or empty)');

const settingsSchema: ObjectSchema = {
  type: 'object',
  properties: {
    clientId: {
      type: 'string',
      title: 'Connected app client ID',
      description: 'Settings > Connected Apps > the app: Client ID (the iss header)',
      pattern: '^[A-Za-z0-9-]{1,100}$',
      'x-pattern-message': 'the connected app\'s client ID',
    },
    secretId: {
      type: 'string',
      title: 'Secret ID',
      description: 'The connected app\'s secret ID (the kid header)',
      pattern: '^[A-Za-z0-9-]{1,100}$',
      'x-pattern-message': 'the connected app\'s secret ID',
    },
    scopes: SCOPES_SCHEMA,
    tokenTtlSeconds: { type: 'integer', title: 'Token lifetime (s)', minimum: 30, maximum: MAX_TTL_SECONDS, default: DEFAULT_TTL_SECONDS },
    usernameClaim: {
      type: 'string',
      title: 'Username from',
      description: '`email` (default): the user\'s email is the Tableau username; otherwise the attribute (access, else user, else tenant) holding it',
      pattern: ATTRIBUTE_NAME,
      'x-pattern-message': '`email` or an attribute name',
    },
    allowedOrigins: schemas.allowedOrigins('Origins of host apps fetching tokens (CORS with credentials; never *)'),
  },
  required: ['clientId', 'secretId'],
  additionalProperties: false,
};

const accessSettingsSchema: ObjectSchema = {
  type: 'object',
  properties: {
    userAttributes: USER_ATTRIBUTES,
    onDemandAccess: {
      type: 'boolean',
      title: 'On-demand access',
      description: 'Send https://tableau.com/oda and the mapped groups (https://tableau.com/groups): Tableau provisions the user',
      default: false,
    },
  },
  additionalProperties: false,
};

/** Tableau: Connected Apps (direct trust) tokens for the Embedding API. */
export const tableau = defineTarget({
  kind: 'tableau',
  label: 'Tableau',
  settingsSchema,
  accessSettingsSchema,
  examples: {
    baseUrl: 'https://prod-useast-b.online.tableau.com',
    settings: {
      clientId: '0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d',
      secretId: '9f8e7d6c-5b4a-3928-1706-f5e4d3c2b1a0',
      scopes: ['tableau:views:embed'],
      tokenTtlSeconds: 300,
      usernameClaim: 'email',
      allowedOrigins: ['https://app.example.com'],
    },
    accessSettings: { userAttributes: ['region'], onDemandAccess: false },
  },
  // Tableau generates the secret value (a base64 string of 44 characters).
  secrets: [{ name: 'secret', required: true, minLength: 32, description: 'Connected app: the secret value (Generate New Secret)' }],
  checkSettings(s) {
    return Array.isArray(s.scopes) && s.scopes.length === 0 ? ['settings.scopes must name at least one scope (leave it out for tableau:views:embed)'] : [];
  },
  checkAccessSettings(s) {
    const listed = Array.isArray(s.userAttributes) ? (s.userAttributes as string[]) : [];
    return listed.filter((n) => RESERVED_CLAIMS.includes(n)).map((n) => `settings.userAttributes must not name the reserved claim "${n}"`);
  },
  token,
  demo: tableauDemo,
  setupGuide: (t, url) => ({
    where: 'Tableau: Settings > Connected Apps > New Connected App > Direct Trust',
    items: [
      { label: 'Access level', value: 'All projects (or the projects you embed)' },
      { label: 'Domain allowlist', value: originsOf(t) || '(your host app\'s origins)' },
      { label: 'Client ID', value: settingOr(t, 'clientId', '(copy it into this target\'s Client ID below)') },
      { label: 'Secret ID', value: settingOr(t, 'secretId', '(copy it into this target\'s Secret ID below)') },
      secretStep(t, 'secret', 'Secret value', 'Generate New Secret in Tableau', 'secret'),
      { label: 'Host page: token URL', value: `${url}/embed/${t.slug}/token`, note: 'GET it with credentials and put `token` in <tableau-viz token="…">.' },
      { label: 'User attributes', note: 'For USERATTRIBUTE() in data policies, enable the site\'s "capture user attributes" and list the attributes on each tenant\'s access.' },
    ],
  }),
  errorCopy: { [TableauError.UsernameMissing]: NOT_SET_UP },
});
