import { createHmac } from 'node:crypto';
import { DomainError } from '../../common/errors';
import { NOT_SET_UP } from '../../common/error-pages';
import { resolveAttribute } from '../attributes';
import { mapGroups } from '../claims';
import type { TargetSettings } from '../product-types';
import { defineTarget, schemas, secretStep, Signing, TargetRef, TokenBehaviour } from '../product-definition';
import type { ArraySchema, ObjectSchema } from '../settings-schema';
import { groupsNote, originsOf } from '../setup-guide';
import { lookerDemo } from './demo';

/**
 * Looker, signed embedding (Looker's "Signed embedding" docs and the embed-sdk's reference
 * server, looker-open-source/embed-sdk server/utils/auth_utils.ts). The host page frames
 *
 *   https://<host>/login/embed/<encodeURIComponent(/embed/<path>?embed_domain=<origin>&sdk=3)>
 *     ?nonce=..&time=..&session_length=..&external_user_id=..&permissions=..&models=..
 *      &group_ids=..&external_group_id=..&user_attributes=..&access_filters=..
 *      &first_name=..&last_name=..&force_logout_login=..&signature=..
 *
 * every value JSON-encoded. `signature` = Base64(HMAC-SHA1(embed secret, UTF-8 of the lines
 * host, embed path, nonce, time, session_length, external_user_id, permissions, models,
 * group_ids, external_group_id, user_attributes, access_filters joined by "\n")) — each line
 * the JSON text as sent. Looker refuses a reused nonce (at most 255 characters), a `time`
 * more than a few minutes off, a session longer than 30 days and permissions it does not
 * know. It keys the embed user by `external_user_id`, never by email: ours is opaque.
 */
const DEFAULT_SESSION_SECONDS = 3600;
/** Looker: session_length at most 30 days. */
const MAX_SESSION_SECONDS = 30 * 24 * 3600;

/** The permissions Looker grants embed users (Signed embedding: "Permissions"). */
export const LOOKER_EMBED_PERMISSIONS = [
  'access_data', 'see_lookml_dashboards', 'see_looks', 'see_user_dashboards', 'explore',
  'create_table_calculations', 'create_custom_fields', 'can_create_forecast', 'save_content',
  'save_dashboards', 'save_looks', 'create_public_looks', 'download_with_limit',
  'download_without_limit', 'schedule_look_emails', 'schedule_external_look_emails',
  'create_alerts', 'follow_alerts', 'send_to_s3', 'send_to_sftp', 'send_outgoing_webhook',
  'send_to_integration', 'see_sql', 'see_lookml', 'see_drill_overlay', 'embed_browse_spaces',
  'embed_save_shared_space', 'clear_cache_refresh', 'see_schedules',
] as const;

/**
 * What we embed, after /embed/<target>/looker/: `dashboards/<id>` (a user-defined dashboard's
 * number, or a LookML dashboard's `<model>::<name>`), `looks/<id>`, `explore/<model>/<view>`.
 */
const NAME = '[A-Za-z0-9_]{1,100}';
const PATH = new RegExp(`^(?:dashboards/(?:[1-9][0-9]{0,17}|${NAME}::${NAME})|looks/[1-9][0-9]{0,17}|explore/${NAME}/${NAME})$`);
/** Looker's `sdk` parameter (the embed-sdk's protocol version) and theme names. */
const SDK_VERSION = /^[0-9]{1,3}$/;
const THEME = /^[A-Za-z0-9_]{1,100}$/;

export const LookerError = {
  EmbedDomainNotAllowed: 'embed_domain_not_allowed',
  InvalidEmbedParam: 'invalid_embed_param',
  InvalidGroupId: 'looker_group_id_invalid',
} as const;

interface LookerAccess {
  userAttributes?: string[];
}

function sessionSeconds(settings: TargetSettings): number {
  const v = settings.sessionLengthSeconds;
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? Math.min(v, MAX_SESSION_SECONDS) : DEFAULT_SESSION_SECONDS;
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/**
 * A stable opaque id of the user for one target: HMAC-SHA256 keyed by the target id over our
 * user id (a random uuid). The same user keeps the same Looker user on this target, no email
 * or name is in it, and ids are not linkable across targets (the token broker's viewer id is
 * made the same way).
 */
export function externalUserId(targetId: string, userId: string): string {
  return createHmac('sha256', targetId).update(userId).digest('base64url').slice(0, 32);
}

/**
 * The `embed_domain` (the host page's origin, where Looker posts its JavaScript events) and
 * Looker URL parameters our URL may carry on: directly, or in the embed-sdk's `src` (its auth
 * call: `?src=/embed/<path>?embed_domain=..&sdk=3`). The origin must be one of the target's
 * allowed origins (Looker checks its own embedded-domain allowlist too).
 */
function options(target: TargetRef, query: Readonly<Record<string, unknown>>, path: string): Record<string, string> {
  const given: Record<string, string> = {};
  const src = query.src;
  if (src !== undefined) {
    if (typeof src !== 'string') throw new DomainError(LookerError.InvalidEmbedParam, 400, 'src must be one embed URL');
    let url: URL;
    try {
      url = new URL(src, 'https://looker.invalid');
    } catch {
      throw new DomainError(LookerError.InvalidEmbedParam, 400, 'src is not an embed URL');
    }
    if (url.origin !== 'https://looker.invalid' || url.pathname !== `/embed/${path}`) {
      throw new DomainError(LookerError.InvalidEmbedParam, 400, `src must be /embed/${path} (the path of this URL)`);
    }
    for (const [k, v] of url.searchParams) given[k] = v;
  }
  for (const k of ['embed_domain', 'sdk', 'theme']) {
    const v = query[k];
    if (v === undefined) continue;
    if (typeof v !== 'string') throw new DomainError(LookerError.InvalidEmbedParam, 400, `${k} must be given once`);
    given[k] = v;
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(given)) {
    if (k === 'embed_domain') {
      const allowed = strings(target.settings.allowedOrigins);
      if (!allowed.includes(v)) {
        throw new DomainError(LookerError.EmbedDomainNotAllowed, 400, `embed_domain ${v.slice(0, 200)} is not one of this target's allowed origins`, { embedDomain: v.slice(0, 200) });
      }
      out.embed_domain = v;
    } else if (k === 'sdk' && SDK_VERSION.test(v)) out.sdk = v;
    else if (k === 'theme' && THEME.test(v)) out.theme = v;
    else throw new DomainError(LookerError.InvalidEmbedParam, 400, `The Looker URL parameter "${k.slice(0, 40)}" is not one we pass on (embed_domain, sdk, theme)`, { param: k.slice(0, 40) });
  }
  return out;
}

/** The Looker embed URL the signed URL logs in to: `/embed/<path>` and its parameters. */
export function embedUrl(path: string, o: Record<string, string>): string {
  // embed_domain as the embed-sdk writes it (unencoded: an origin has no & or =).
  const q = [o.embed_domain && `embed_domain=${o.embed_domain}`, o.sdk && `sdk=${o.sdk}`, o.theme && `theme=${o.theme}`].filter(Boolean);
  const query = q.join('&');
  return query ? `/embed/${path}?${query}` : `/embed/${path}`;
}

/** The signed lines, in Looker's order; optional ones (absent) left out, as the reference does. */
const SIGNED = ['nonce', 'time', 'session_length', 'external_user_id', 'permissions', 'models', 'group_ids', 'external_group_id', 'user_attributes', 'access_filters'] as const;
/** The URL's parameters, in order (signature last). */
const SENT = [...SIGNED, 'first_name', 'last_name', 'force_logout_login'] as const;

function sign(v: { target: TargetRef; path: string; claims: Record<string, unknown>; secret: string; options: Record<string, string> }): string {
  const base = new URL(v.target.baseUrl);
  const embedPath = `/login/embed/${encodeURIComponent(embedUrl(v.path, v.options))}`;
  const json = (k: string) => (v.claims[k] === undefined ? undefined : JSON.stringify(v.claims[k]));
  const lines = [base.host, embedPath, ...SIGNED.map(json).filter((x): x is string => x !== undefined)];
  const signature = createHmac('sha1', v.secret).update(lines.join('\n'), 'utf8').digest('base64');
  const params: string[] = [];
  for (const k of SENT) {
    const x = json(k);
    if (x !== undefined) params.push(`${k}=${encodeURIComponent(x)}`);
  }
  const query = [...params, `signature=${encodeURIComponent(signature)}`].join('&');
  return `${base.origin}${embedPath}?${query}`;
}

// HMAC-SHA1 over the URL, with the embed secret (the HS256 key is not used: `sign` signs).
const signing: Signing = { alg: 'HS256', secret: 'embedSecret', header: () => ({}) };

const token: TokenBehaviour = {
  signing,
  ttlSeconds: sessionSeconds,
  claims(ctx, exp) {
    const s = ctx.target.settings;
    const access = ctx.access.settings as LookerAccess;
    // Looker's group ids are numbers: a mapping to anything else is a configuration mistake.
    const groupIds = mapGroups(ctx.groups, ctx.access.groupMappings ?? {}).map((g) => {
      if (!/^[1-9][0-9]{0,17}$/.test(g)) throw new DomainError(LookerError.InvalidGroupId, 409, `The access maps a group to "${g.slice(0, 40)}": Looker group ids are numbers`, { group: g.slice(0, 40) });
      return Number(g);
    });
    // Only the attributes the access lists, each by the one precedence (access > user > tenant), as text.
    const attributes: Record<string, string> = {};
    for (const name of access.userAttributes ?? []) {
      const v = resolveAttribute(ctx, name);
      if (v !== undefined) attributes[name] = String(v);
    }
    const claims: Record<string, unknown> = {
      // The ledger's jti: unique, recorded before the URL leaves (Looker refuses a reused nonce).
      nonce: ctx.jti,
      time: ctx.iat,
      session_length: exp - ctx.iat,
      external_user_id: externalUserId(ctx.target.id, ctx.user.id),
      permissions: strings(s.permissions),
      models: strings(s.models),
      group_ids: groupIds,
      // One Looker group per tenant (its shared folder), keyed by our stable tenant id.
      external_group_id: ctx.tenant.id,
      user_attributes: attributes,
      // No access filters: row-level rules travel as user attributes.
      access_filters: {},
      // A new Looker session per URL, so one browser never keeps another user's session.
      force_logout_login: true,
    };
    if (ctx.user.firstName) claims.first_name = ctx.user.firstName;
    if (ctx.user.lastName) claims.last_name = ctx.user.lastName;
    return claims;
  },
  link: {
    resource: 'looker',
    path: PATH,
    prompt: { label: 'Looker content: dashboards/<id>, looks/<id> or explore/<model>/<view>', example: 'dashboards/7' },
    options,
    sign,
  },
};

const MODELS: ArraySchema = {
  type: 'array',
  title: 'Models',
  description: 'LookML models the embed users may query (models; at least one)',
  maxItems: 50,
  items: { type: 'string', pattern: `^${NAME}$`, 'x-pattern-message': 'a LookML model name (letters, digits, _)' },
  'x-allow-list': { unset: 'none' },
};

const PERMISSIONS: ArraySchema = {
  type: 'array',
  title: 'Permissions',
  description: 'Looker permissions of the embed users (permissions; at least one, e.g. access_data, see_user_dashboards)',
  maxItems: LOOKER_EMBED_PERMISSIONS.length,
  items: { type: 'string', enum: [...LOOKER_EMBED_PERMISSIONS] },
  'x-allow-list': { unset: 'none' },
};

const settingsSchema: ObjectSchema = {
  type: 'object',
  properties: {
    models: MODELS,
    permissions: PERMISSIONS,
    sessionLengthSeconds: { type: 'integer', title: 'Session length (s)', description: 'How long the Looker session a URL opens lasts (session_length; Looker: at most 30 days)', minimum: 60, maximum: MAX_SESSION_SECONDS, default: DEFAULT_SESSION_SECONDS },
    allowedOrigins: schemas.allowedOrigins('Origins of host apps: the embed_domain Looker posts events to, and CORS for URLs asked as JSON (never *)'),
  },
  required: ['models', 'permissions'],
  additionalProperties: false,
};

const accessSettingsSchema: ObjectSchema = {
  type: 'object',
  properties: {
    userAttributes: schemas.userAttributes('Attributes (access, else user, else tenant) sent in user_attributes (none when unset or empty)'),
  },
  additionalProperties: false,
};

/** Looker: HMAC-SHA1 signed embed URLs for dashboards, Looks and Explores. */
export const looker = defineTarget({
  kind: 'looker',
  label: 'Looker',
  settingsSchema,
  accessSettingsSchema,
  examples: {
    baseUrl: 'https://acme.cloud.looker.com',
    settings: { models: ['thelook'], permissions: ['access_data', 'see_user_dashboards', 'see_looks'], sessionLengthSeconds: 3600, allowedOrigins: ['https://app.example.com'] },
    accessSettings: { userAttributes: ['customer_id'] },
  },
  checkSettings(s) {
    const problems: string[] = [];
    // Looker refuses a URL without a model or a permission; an empty list would refuse every user.
    if (!strings(s.models).length) problems.push('settings.models must name at least one LookML model');
    if (!strings(s.permissions).length) problems.push('settings.permissions must name at least one Looker permission');
    return problems;
  },
  // The SDK's auth call sends Cache-Control (a cross-origin host page preflights it).
  corsRequestHeaders: ['Cache-Control'],
  // Looker generates the embed secret (64 characters).
  secrets: [{ name: 'embedSecret', required: true, minLength: 32, description: 'Admin > Platform > Embed: the embed secret' }],
  token,
  demo: lookerDemo,
  errorCopy: {
    [LookerError.EmbedDomainNotAllowed]: { title: 'This page may not show Looker', sentence: 'The page asking for this Looker content is not one of the apps allowed to show it. Open it from your usual app.', way: 'start' },
    [LookerError.InvalidEmbedParam]: { title: 'This link does not work', sentence: 'The link to this Looker content carries something Looker is not given from here. Open it again from your app.', way: 'start' },
    [LookerError.InvalidGroupId]: NOT_SET_UP,
  },
  setupGuide: (t, url, groups) => ({
    where: 'Looker: Admin > Platform > Embed',
    items: [
      { label: 'Signed embedding', value: 'Enabled', note: 'Turn on "Signed Embedding" (called "SSO Embed" in older Looker versions).' },
      secretStep(t, 'embedSecret', 'Embed secret', 'Admin > Platform > Embed > Reset Secret', 'Embed secret'),
      { label: 'Embedded Domain Allowlist', value: originsOf(t) || '(add this target\'s allowed origins first)', note: 'The host apps\' origins, so Looker posts its events to them.' },
      { label: 'Models', value: strings(t.settings.models).join(', ') || '(set this target\'s models below)', note: 'LookML models the embed users may query; create model sets for them if you restrict by set.' },
      { label: 'Permissions', value: strings(t.settings.permissions).join(', ') || '(set this target\'s permissions below)' },
      { label: 'Host page: content URL', value: `${url}/embed/${t.slug}/looker/dashboards/<id>`, note: 'Also looks/<id> and explore/<model>/<view>; add ?embed_domain=<host app origin> for events, or ?response=json for {url}. With @looker/embed-sdk: init(host, {url: this URL, params: [{name: "response", value: "json"}], withCredentials: true}).' },
      { label: 'Groups', note: `Map local groups to Looker group ids (numbers, Admin > Users > Groups). ${groupsNote(groups)}` },
      { label: 'User attributes', note: 'Create the attributes each tenant\'s access lists (Admin > Users > User Attributes), e.g. the one your models filter rows on.' },
    ],
  }),
});
