import { badRequest, DomainError } from '../../common/errors';
import { absoluteHttpUrl, originOf, safeLocalPath } from '../../common/redirects';
import type { TargetSettings } from '../product-types';
import type { AccessSettings } from '../product-types';
import { defineTarget, secretStep, EmbedBehaviour, MintContext, ResourceIds, schemas, Signing, SsoBehaviour } from '../product-definition';
import { claimNameClashes, mapGroups } from '../claims';
import { resolveAttribute, resolveAttributes } from '../attributes';
import { allowListPermits, ArraySchema, ObjectSchema } from '../settings-schema';
import { groupsNote, originsOf, settingOr } from '../setup-guide';
import { NOT_SET_UP } from '../../common/error-pages';

/** Every error code minting for Metabase can answer with (besides SsoError's); a product's own codes live in its file. */
export enum MetabaseError {
  LockedParamMissing = 'locked_param_missing',
  MetabaseTenantSlugInvalid = 'metabase_tenant_slug_invalid',
}

/** Metabase's own defaults for its configurable claim names (Admin > Authentication > JWT). */
const DEFAULT_CLAIMS = { email: 'email', firstName: 'first_name', lastName: 'last_name', groups: 'groups' };
/** Metabase's contract: send exp 60–600 s ahead; two minutes leaves room for a slow redirect. */
const DEFAULT_TOKEN_TTL = 120;
/** Short, so an iframe URL copied out of one user's page is useless soon after. */
const DEFAULT_EMBED_TTL = 60;
/** Registered claims are never user attributes in Metabase, and never ours to overwrite. */
const REGISTERED_CLAIMS = ['iss', 'iat', 'sub', 'aud', 'exp', 'nbf', 'jti'];
/** Metabase's contract: the Metabase tenant slug. */
const METABASE_TENANT_SLUG = /^[-_a-z0-9]{1,255}$/;
/** In shared-account mode the real user's email travels as this attribute. */
const REAL_USER_EMAIL_ATTRIBUTE = 'user_email';

type Flat = Record<string, string | number | boolean>;
type Target = MintContext['target'];

/** This product's access settings, as accessSettingsSchema below validated them. */
interface MetabaseAccess {
  metabaseTenantSlug?: string;
  sharedAccount?: { email: string; firstName?: string; lastName?: string };
  lockedParams?: Record<string, string>;
  embeddableDashboards?: string[];
  embeddableQuestions?: string[];
}
const accessOf = (s: AccessSettings): MetabaseAccess => s as MetabaseAccess;

function claimNames(s: TargetSettings) {
  const name = (v: unknown, def: string) => (typeof v === 'string' && v !== '' ? v : def);
  return {
    email: name(s.emailClaim, DEFAULT_CLAIMS.email),
    firstName: name(s.firstNameClaim, DEFAULT_CLAIMS.firstName),
    lastName: name(s.lastNameClaim, DEFAULT_CLAIMS.lastName),
    groups: name(s.groupsClaim, DEFAULT_CLAIMS.groups),
  };
}

function base(target: Pick<Target, 'baseUrl'>): string {
  return target.baseUrl.replace(/\/+$/, '');
}

function isFlat(v: unknown): v is string | number | boolean {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

/**
 * Metabase turns every other top-level string/number/boolean claim into a user attribute
 * (data sandboxing) and drops arrays, objects, null and keys starting with '@'. We send only
 * what it would keep, and never let an attribute replace a registered or identity claim.
 */
function putAttributes(payload: Record<string, unknown>, attrs: Flat | null | undefined, reserved: Set<string>): void {
  if (!attrs) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('@') || reserved.has(k) || !isFlat(v)) continue;
    payload[k] = v;
  }
}

/**
 * Who Metabase sees. Normally the user; in shared-account mode ("one Metabase user per
 * client") the client's account, with the real user carried as attributes instead.
 */
function identity(ctx: Pick<MintContext, 'access' | 'user' | 'tenant'>): { email: string; firstName?: string; lastName?: string } {
  const shared = accessOf(ctx.access.settings).sharedAccount;
  if (shared) {
    return { email: shared.email.toLowerCase(), firstName: shared.firstName ?? ctx.tenant.name, lastName: shared.lastName };
  }
  return { email: ctx.user.email, firstName: ctx.user.firstName, lastName: ctx.user.lastName };
}

function positive(v: unknown, def: number): number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : def;
}

/** Metabase's contract: HMAC-SHA256 only; the key is the secret string's UTF-8 bytes. */
const ssoSigning: Signing = { alg: 'HS256', secret: 'secret', header: () => ({}) };
/** Metabase's contract (static embedding): HS256 with the `alg` header, signed with the embedding secret key. */
const embedSigning: Signing = { alg: 'HS256', secret: 'embeddingSecret', header: () => ({}) };

const sso: SsoBehaviour = {
  signing: ssoSigning,
  ttlSeconds: (settings) => positive(settings.tokenTtlSeconds, DEFAULT_TOKEN_TTL),
  // Metabase's contract: the Embedding SDK / embed.js calls the IdP URI with ?response=json for {jwt}.
  json: true,
  // Metabase keys users by email (compared lower-cased): the user's, or the shared account's.
  identityEmail: (ctx) => identity(ctx).email,
  sharedAccountEmail: (access) => accessOf(access).sharedAccount?.email ?? null,

  claims(ctx, exp) {
    const s = ctx.target.settings;
    const names = claimNames(s);
    const who = identity(ctx);
    const reserved = new Set([...REGISTERED_CLAIMS, names.email, names.firstName, names.lastName, names.groups]);
    const shared = !!accessOf(ctx.access.settings).sharedAccount;
    if (shared) reserved.add(REAL_USER_EMAIL_ATTRIBUTE);

    // Attributes by the one precedence rule (access > user > tenant; src/products/attributes.ts).
    const payload: Record<string, unknown> = {};
    putAttributes(payload, resolveAttributes(ctx), reserved);
    // Shared account: the real user's role, locale etc. are already there as user attributes.
    if (shared) payload[REAL_USER_EMAIL_ATTRIBUTE] = ctx.user.email;

    // Metabase keys users by email (compared lower-cased); names are optional there.
    payload[names.email] = who.email;
    if (who.firstName) payload[names.firstName] = who.firstName;
    if (who.lastName) payload[names.lastName] = who.lastName;
    // Metabase's contract: omit the claim rather than send [] — an empty array can strip every group.
    const groups = mapGroups(ctx.groups, ctx.access.groupMappings ?? {});
    if (groups.length) payload[names.groups] = groups;

    // Metabase's contract: @tenant only when the Metabase has tenants on, otherwise it answers 403.
    if (s.tenantsEnabled === true) {
      const slug = accessOf(ctx.access.settings).metabaseTenantSlug ?? ctx.tenant.slug;
      if (!METABASE_TENANT_SLUG.test(slug)) {
        throw new DomainError(
          MetabaseError.MetabaseTenantSlugInvalid,
          409,
          'This tenant\'s Metabase tenant slug is not valid (lower-case letters, digits, "-" and "_")',
          { metabaseTenantSlug: slug },
        );
      }
      payload['@tenant'] = slug;
      // The tenant's attributes under the same rule as every other attribute: what the access
      // binds (global key) wins over what the tenant's own administrator can edit, so a
      // tenant cannot override a sandboxing value through Metabase's tenant attributes. User
      // attributes stay out: @tenant.attributes is shared by every user of the tenant.
      const tenantAttributes: Record<string, unknown> = {};
      putAttributes(tenantAttributes, resolveAttributes({ tenant: ctx.tenant, access: ctx.access }), new Set());
      if (Object.keys(tenantAttributes).length) payload['@tenant.attributes'] = tenantAttributes;
    }

    // Metabase's contract: iat integer seconds and always sent; exp sent; no nbf. jti: unique per token.
    payload.iat = ctx.iat;
    payload.exp = exp;
    payload.jti = ctx.jti;
    return payload;
  },

  redirect: {
    /**
     * Metabase's contract: Metabase accepts return_to only if relative or on its own host. We check the
     * same before signing anything, so a foreign URL is refused here, not after a token left.
     */
    normaliseReturnTo(raw, target) {
      if (raw === undefined || raw === '') return '/';
      if (raw.startsWith('/')) return safeLocalPath(raw);
      const u = absoluteHttpUrl(raw);
      return u && u.origin === originOf(target.baseUrl) ? u.href : null;
    },
    url: (ctx, jwt, returnTo) => `${base(ctx.target)}/auth/sso?jwt=${jwt}&return_to=${encodeURIComponent(returnTo)}`,
  },
};

/**
 * Metabase names a dashboard or question by its numeric id or, on Pro/Enterprise, by its
 * entity ID: a 21-character NanoID ([A-Za-z0-9_-]{21}). Metabase's embed endpoints translate a
 * JSON string in `resource` as an entity ID and take a JSON number as the id itself, so "7"
 * must be signed as 7 and an entity ID as a string. Numeric ids stop at 16 digits, so the two
 * forms never overlap.
 */
const NUMERIC_ID = '[1-9][0-9]{0,15}';
const ENTITY_ID = '[A-Za-z0-9_-]{21}';
const RESOURCE_IDS: ResourceIds = {
  forms: [
    { pattern: new RegExp(`^${NUMERIC_ID}$`), as: 'number' },
    { pattern: new RegExp(`^${ENTITY_ID}$`), as: 'string' },
  ],
  description: 'a positive whole number or a 21-character entity ID (letters, digits, "_" and "-")',
  schemaPattern: `^(${NUMERIC_ID}|${ENTITY_ID})$`,
};

const embed: EmbedBehaviour = {
  signing: embedSigning,
  resources: ['dashboard', 'question'],
  resourceIds: RESOURCE_IDS,
  ttlSeconds: (settings) => positive(settings.embedTtlSeconds, DEFAULT_EMBED_TTL),

  /**
   * Metabase's contract (static embedding): {resource: {dashboard|question: id}, params, exp}; params
   * is required and must set every locked parameter. Values are resolved like the SSO
   * token's attributes (access > user > tenant, src/products/attributes.ts), so embed and token agree
   * and what the global key bound to the access cannot be overridden by a tenant-scoped key.
   */
  payload(ctx, kind, id, exp) {
    const params: Record<string, string | number | boolean> = {};
    const locked = accessOf(ctx.access.settings).lockedParams ?? {};
    for (const [param, attribute] of Object.entries(locked)) {
      const v = resolveAttribute(ctx, attribute);
      if (v === undefined) {
        throw badRequest(
          MetabaseError.LockedParamMissing,
          `Locked parameter "${param}" takes its value from attribute "${attribute}", which neither the access, the user nor the tenant has`,
          { param, attribute },
        );
      }
      params[param] = v;
    }
    return { resource: { [kind]: id }, params, exp };
  },

  // Metabase's contract: {metabase}/embed/<kind>/<token>#bordered=true&titled=true.
  url: (target, kind, token) => `${base(target)}/embed/${kind}/${token}#bordered=true&titled=true`,

  /**
   * Metabase's contract (guest embeds): embed.js asks our guestEmbedProviderUri for the entity the
   * browser names, so the tenant's access must list it: nothing is embeddable by default.
   */
  guest: {
    allowed(access, kind, id) {
      const a = accessOf(access.settings);
      if (kind === 'dashboard') return allowListPermits(EMBEDDABLE_DASHBOARDS, a.embeddableDashboards, String(id));
      if (kind === 'question') return allowListPermits(EMBEDDABLE_QUESTIONS, a.embeddableQuestions, String(id));
      return false;
    },
  },
};

/** A configured claim name must not be a registered claim or another identity claim. */
function metabaseClaimNameClashes(problems: string[], s: TargetSettings): void {
  const names = claimNames(s);
  claimNameClashes(
    problems,
    [
      ['emailClaim', names.email],
      ['firstNameClaim', names.firstName],
      ['lastNameClaim', names.lastName],
      ['groupsClaim', names.groups],
    ],
    { claims: REGISTERED_CLAIMS, what: 'registered' },
  );
}

const claimName = schemas.claimName;
const LISTED_ID = { type: 'string' as const, pattern: RESOURCE_IDS.schemaPattern, 'x-pattern-message': `a Metabase id: ${RESOURCE_IDS.description}` };
// The browser names the entity: nothing is embeddable unless listed (none when unset or empty).
const EMBEDDABLE_DASHBOARDS: ArraySchema = {
  type: 'array',
  title: 'Guest-embeddable dashboards',
  description: 'Dashboard ids or entity IDs the guest-embed token endpoint may sign (none when unset or empty)',
  items: LISTED_ID,
  maxItems: 500,
  'x-allow-list': { unset: 'none' },
};
const EMBEDDABLE_QUESTIONS: ArraySchema = {
  type: 'array',
  title: 'Guest-embeddable questions',
  description: 'Question ids or entity IDs the guest-embed token endpoint may sign (none when unset or empty)',
  items: LISTED_ID,
  maxItems: 500,
  'x-allow-list': { unset: 'none' },
};

const settingsSchema: ObjectSchema = {
  type: 'object',
  properties: {
    emailClaim: { ...claimName('Email claim name configured in Metabase (default email)'), title: 'Email claim' },
    firstNameClaim: { ...claimName('First name claim (default first_name)'), title: 'First name claim' },
    lastNameClaim: { ...claimName('Last name claim (default last_name)'), title: 'Last name claim' },
    groupsClaim: { ...claimName('Groups claim (default groups)'), title: 'Groups claim' },
    // Metabase's contract: send exp 60–600 s ahead.
    tokenTtlSeconds: { type: 'integer', title: 'SSO token lifetime (s)', minimum: 60, maximum: 600, default: DEFAULT_TOKEN_TTL },
    embedTtlSeconds: { type: 'integer', title: 'Embed token lifetime (s)', minimum: 10, maximum: 3600, default: DEFAULT_EMBED_TTL },
    tenantsEnabled: {
      type: 'boolean',
      title: 'Metabase tenants on',
      description: 'Send @tenant / @tenant.attributes (never sent otherwise: Metabase would answer 403)',
      default: false,
    },
    allowedOrigins: schemas.allowedOrigins('Origins of host apps using the Embedding SDK or embed.js (CORS with credentials; never *)'),
    logoutLandingUrl: schemas.logoutLandingUrl(),
  },
  additionalProperties: false,
};

const accessSettingsSchema: ObjectSchema = {
  type: 'object',
  properties: {
    // Metabase's contract, Metabase multi-tenancy: @tenant must match ^[-_a-z0-9]{1,255}$.
    metabaseTenantSlug: { type: 'string', title: 'Metabase tenant slug', description: 'The @tenant (default: the tenant slug)', pattern: METABASE_TENANT_SLUG.source, 'x-pattern-message': 'a Metabase tenant slug: 1 to 255 lower-case letters, digits, - or _' },
    sharedAccount: schemas.sharedAccount('Metabase'),
    lockedParams: {
      type: 'object',
      title: 'Locked parameters',
      description: 'Signed-embed parameter -> the attribute whose value it is locked to (access, else user, else tenant)',
      additionalProperties: { type: 'string', maxLength: 100, 'x-pattern-message': 'an attribute name of 1 to 100 characters' },
      'x-key-pattern': '^[A-Za-z0-9_-]{1,100}$',
      'x-key-message': 'a parameter name of 1 to 100 letters, digits, _ or -',
      maxProperties: 50,
    },
    embeddableDashboards: EMBEDDABLE_DASHBOARDS,
    embeddableQuestions: EMBEDDABLE_QUESTIONS,
  },
  additionalProperties: false,
};

/** Metabase: JWT SSO (interactive embedding, the SDK), signed embeds and guest-embed tokens. */
export const metabase = defineTarget({
  kind: 'metabase',
  label: 'Metabase',
  settingsSchema,
  accessSettingsSchema,
  examples: {
    baseUrl: 'https://metabase.example.com',
    settings: {
      emailClaim: 'email',
      firstNameClaim: 'first_name',
      lastNameClaim: 'last_name',
      groupsClaim: 'groups',
      tokenTtlSeconds: 120,
      embedTtlSeconds: 60,
      tenantsEnabled: false,
      allowedOrigins: ['https://app.example.com'],
      logoutLandingUrl: 'https://app.example.com/signed-out',
    },
    accessSettings: {
      metabaseTenantSlug: 'acme',
      sharedAccount: { email: 'bi@acme.example', firstName: 'Acme', lastName: 'Analytics' },
      lockedParams: { customer_id: 'customerId' },
      embeddableDashboards: ['7', 'yqcdnPAMZvo3Dw0Snxa6s'],
      embeddableQuestions: ['12'],
    },
  },
  secrets: [
    // Metabase generates 64 hex characters for both; 32 is the floor for an HMAC key.
    { name: 'secret', required: true, minLength: 32, description: 'Admin > Authentication > JWT: "String used by the JWT signing key"' },
    { name: 'embeddingSecret', required: false, minLength: 32, description: 'Admin > Embedding > Static embedding: "Embedding secret key"' },
  ],
  checkSettings(s) {
    const problems: string[] = [];
    metabaseClaimNameClashes(problems, s);
    return problems;
  },
  // The Embedding SDK sends these to Metabase; its own fetch of our IdP URI sends no header of
  // its own (a simple CORS request, no preflight). Allowed for a host's fetchRequestToken that
  // passes them on.
  corsRequestHeaders: ['X-Metabase-Client', 'X-Metabase-Client-Version'],
  sso,
  embed,
  // Metabase's contract: Metabase has no JWT single logout; the browser must load {metabase}/auth/logout.
  logoutUrl: (ctx) => `${base(ctx.target)}/auth/logout`,
  setupGuide: (t, url, groups) => ({
    where: 'Metabase: Admin settings > Authentication > JWT',
    items: [
      { label: 'JWT Identity Provider URI', value: `${url}/sso/${t.slug}` },
      secretStep(t, 'secret', 'String used by the JWT signing key', 'in Metabase', 'JWT signing key'),
      { label: 'Email attribute', value: settingOr(t, 'emailClaim', 'email') },
      { label: 'First name attribute', value: settingOr(t, 'firstNameClaim', 'first_name') },
      { label: 'Last name attribute', value: settingOr(t, 'lastNameClaim', 'last_name') },
      { label: 'Group assignment attribute', value: settingOr(t, 'groupsClaim', 'groups') },
      { label: 'Synchronize group memberships', value: 'on', note: groupsNote(groups) },
      ...(originsOf(t) ? [{ label: 'Admin > Embedding: authorized origins', value: originsOf(t) }] : []),
    ],
  }),
  errorCopy: {
    [MetabaseError.MetabaseTenantSlugInvalid]: NOT_SET_UP,
    [MetabaseError.LockedParamMissing]: NOT_SET_UP,
  },
});
