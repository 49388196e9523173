import { absoluteHttpUrl, originOf, safeLocalPath } from '../../common/redirects';
import type { TargetSettings } from '../product-types';
import type { AccessSettings } from '../product-types';
import { defineTarget, secretStep, MintContext, schemas, SsoBehaviour } from '../product-definition';
import { claimNameClashes, mapGroups } from '../claims';
import type { ObjectSchema } from '../settings-schema';
import { groupsNote, originsOf } from '../setup-guide';

/** This product's access settings, as accessSettingsSchema below validated them. */
interface SisenseAccess {
  sisenseTenantName?: string;
  sisenseTenantId?: string;
  sharedAccount?: { email: string; firstName?: string; lastName?: string };
}
const accessOf = (s: AccessSettings): SisenseAccess => s as SisenseAccess;

/** As for the access settings (sisenseTenantName / sisenseTenantId). */
const TENANT_NAME = /^[A-Za-z0-9_-]{1,100}$/;
const TENANT_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Sisense's own defaults for its configurable claims (Admin > Single Sign On > JWT). */
const DEFAULT_EMAIL_CLAIM = 'sub';
const DEFAULT_FIRST_NAME_CLAIM = 'firstName';
const DEFAULT_LAST_NAME_CLAIM = 'lastName';
/** exp is optional for Sisense; we always send one, 5 minutes ahead unless configured. */
const DEFAULT_TTL_SECONDS = 300;

type Target = MintContext['target'];
type AccessPart = Pick<MintContext, 'target' | 'access'>;

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * Who Sisense sees: the user, or the tenant's shared account when the access is set up as
 * "one BI account per client". The iat sequence must follow the same identity: Sisense keeps
 * the last iat per Sisense user, so every user signing in as one shared account shares it.
 */
function identity(ctx: Pick<MintContext, 'access' | 'user'>): { email: string; firstName?: string; lastName?: string } {
  const shared = accessOf(ctx.access.settings).sharedAccount;
  if (shared) return { email: shared.email, firstName: shared.firstName, lastName: shared.lastName };
  return { email: ctx.user.email, firstName: ctx.user.firstName, lastName: ctx.user.lastName };
}

/**
 * The Sisense organization tenant, served in one of two ways: one target per Sisense tenant
 * (target settings tenantName + tenantId), or one target for the whole Sisense instance with
 * the tenant set on each access (sisenseTenantName + sisenseTenantId). The access, being the
 * more specific, wins. Neither: the main (system) tenant.
 */
function sisenseTenant(ctx: AccessPart): { name?: string; id?: string } {
  const a = accessOf(ctx.access.settings);
  if (str(a.sisenseTenantName) || str(a.sisenseTenantId)) return { name: str(a.sisenseTenantName), id: str(a.sisenseTenantId) };
  return { name: str(ctx.target.settings.tenantName), id: str(ctx.target.settings.tenantId) };
}

/**
 * `<sisense>` for the main (system) tenant, `<sisense>/<tenant name>` for an organization
 * tenant: Sisense's contract "for an organization tenant the base is {sisense}/{tenant_name}".
 */
function sisenseBase(ctx: AccessPart): string {
  const base = ctx.target.baseUrl.replace(/\/+$/, '');
  const tenantName = sisenseTenant(ctx).name;
  return tenantName ? `${base}/${encodeURIComponent(tenantName)}` : base;
}

/**
 * Which Sisense user database a login lands in: the instance (scheme, host, port and path,
 * normalised) and the organization tenant. Two targets pointing at the same Sisense share it.
 */
export function sisenseIatScope(ctx: AccessPart): string {
  let instance = ctx.target.baseUrl;
  try {
    const u = new URL(ctx.target.baseUrl);
    instance = `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
  } catch {
    /* a malformed base URL is refused by the admin API; keep it as it is */
  }
  return `sisense:${instance}|${sisenseTenant(ctx).name ?? ''}`;
}

function allowedOrigins(target: Target): Set<string> {
  const origins = new Set<string>();
  const own = originOf(target.baseUrl);
  if (own) origins.add(own);
  const extra = target.settings.allowedOrigins;
  if (Array.isArray(extra)) for (const o of extra) if (typeof o === 'string') origins.add(o);
  return origins;
}

/**
 * return_to as Sisense sends it: a Sisense path (relative, one leading '/'), or — from the
 * Compose SDK — an absolute URL of the embedding app, which must be on the Sisense origin or
 * an allow-listed embedding origin (Sisense's contract: "Validate against an allow-list"). Anything
 * else (protocol-relative '//evil', backslashes, control characters, credentials in the URL)
 * is refused: we would otherwise be an open redirect through Sisense.
 */
function normaliseReturnTo(raw: string | undefined, target: Target): string | null {
  if (raw === undefined || raw === '') return '/';
  if (raw.startsWith('/')) return safeLocalPath(raw);
  const u = absoluteHttpUrl(raw);
  return u && allowedOrigins(target).has(u.origin) ? u.href : null;
}

function ttlSeconds(settings: TargetSettings): number {
  const v = settings.tokenTtlSeconds;
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : DEFAULT_TTL_SECONDS;
}

const sso: SsoBehaviour = {
  // Sisense's contract: header `typ: JWT`, `alg: HS256` (nothing else).
  signing: { alg: 'HS256', secret: 'secret', header: () => ({ typ: 'JWT' }) },
  // Sisense denies a token whose iat is the same as or earlier than the user's previous one.
  // It keeps the last iat per Sisense user: the instance (and organization tenant) it lives
  // in, and its email, compared case-insensitively.
  iatSequence: (ctx) => ({ scope: sisenseIatScope(ctx), subject: identity(ctx).email.toLowerCase() }),
  ttlSeconds,
  // The Compose SDK fetches the token itself; the JSON answer serves it the same way.
  json: true,
  // Sisense keys users by email: the user's, or the shared account's.
  identityEmail: (ctx) => identity(ctx).email,
  sharedAccountEmail: (access) => accessOf(access).sharedAccount?.email ?? null,
  claims(ctx, exp) {
    const s = ctx.target.settings;
    const who = identity(ctx);
    const payload: Record<string, unknown> = {
      // Integer seconds: Sisense refuses a float iat.
      iat: Math.trunc(ctx.iat),
      // Sisense: exp optional, but when present it must be later than iat.
      exp: Math.max(Math.trunc(exp), Math.trunc(ctx.iat) + 1),
      // Sisense stores every jti and refuses a repeat.
      jti: ctx.jti,
    };
    payload[str(s.emailClaim) ?? DEFAULT_EMAIL_CLAIM] = who.email;
    if (who.firstName) payload[str(s.firstNameClaim) ?? DEFAULT_FIRST_NAME_CLAIM] = who.firstName;
    if (who.lastName) payload[str(s.lastNameClaim) ?? DEFAULT_LAST_NAME_CLAIM] = who.lastName;
    const groups = mapGroups(ctx.groups, ctx.access.groupMappings);
    // Sisense groups must exist there; send only mapped names, and no claim when none map.
    if (groups.length) payload.groups = groups;
    // Sisense's contract: tenantId required for an organization tenant, absent for the system tenant.
    const tenantId = sisenseTenant(ctx).id;
    if (tenantId) payload.tenantId = tenantId;
    return payload;
  },
  redirect: {
    normaliseReturnTo,
    // Sisense's contract: 302 {sisense}[/{tenant_name}]/jwt?jwt=<token>&return_to=<encoded>.
    url: (ctx, jwt, returnTo) => `${sisenseBase(ctx)}/jwt?jwt=${encodeURIComponent(jwt)}&return_to=${encodeURIComponent(returnTo)}`,
  },
};

/** Claims we always set ourselves; a configured name must not overwrite one of them. */
const RESERVED_CLAIMS = ['iat', 'exp', 'jti', 'nbf', 'iss', 'aud', 'groups', 'tenantId'];

function sisenseClaimNameClashes(problems: string[], s: { emailClaim?: string; firstNameClaim?: string; lastNameClaim?: string }): void {
  claimNameClashes(
    problems,
    [
      ['emailClaim', s.emailClaim ?? DEFAULT_EMAIL_CLAIM],
      ['firstNameClaim', s.firstNameClaim ?? DEFAULT_FIRST_NAME_CLAIM],
      ['lastNameClaim', s.lastNameClaim ?? DEFAULT_LAST_NAME_CLAIM],
    ],
    { claims: RESERVED_CLAIMS, what: 'reserved' },
  );
}

const TENANT_NAME_SCHEMA = { type: 'string' as const, pattern: TENANT_NAME.source, 'x-pattern-message': 'the Sisense tenant name (letters, digits, _ and -; at most 100)' };
const TENANT_ID_SCHEMA = { type: 'string' as const, pattern: TENANT_ID.source, 'x-pattern-message': 'the Sisense tenant id (letters, digits, _ and -; at most 64)' };

const settingsSchema: ObjectSchema = {
  type: 'object',
  properties: {
    emailClaim: { ...schemas.claimName('Email Claim configured in Sisense (default sub)'), title: 'Email claim' },
    firstNameClaim: { ...schemas.claimName('First Name Claim (default firstName)'), title: 'First name claim' },
    lastNameClaim: { ...schemas.claimName('Last Name Claim (default lastName)'), title: 'Last name claim' },
    tokenTtlSeconds: { type: 'integer', title: 'Token lifetime (s)', minimum: 30, maximum: 3600, default: DEFAULT_TTL_SECONDS },
    allowedOrigins: schemas.allowedOrigins('Origins of apps embedding Sisense with the Compose SDK (absolute return_to URLs accepted there)'),
    logoutLandingUrl: schemas.logoutLandingUrl(),
    tenantName: { ...TENANT_NAME_SCHEMA, title: 'Sisense tenant name', description: 'A target serving one Sisense organization tenant: its name (URL prefix); with tenantId' },
    tenantId: { ...TENANT_ID_SCHEMA, title: 'Sisense tenant id', description: 'Its id (tenantId claim); with tenantName' },
  },
  additionalProperties: false,
};

const accessSettingsSchema: ObjectSchema = {
  type: 'object',
  properties: {
    // The name prefixes the URL ({sisense}/{tenant_name}/jwt), the id goes in the tenantId claim.
    sisenseTenantName: { ...TENANT_NAME_SCHEMA, title: 'Sisense tenant name', description: 'Sisense organization tenant name (URL prefix); with sisenseTenantId' },
    sisenseTenantId: { ...TENANT_ID_SCHEMA, title: 'Sisense tenant id', description: 'Sisense organization tenant id (tenantId claim); with sisenseTenantName' },
    sharedAccount: schemas.sharedAccount('Sisense'),
  },
  additionalProperties: false,
};

/** Sisense: JWT SSO (Remote Login / Remote Logout URLs). */
export const sisense = defineTarget({
  kind: 'sisense',
  label: 'Sisense',
  settingsSchema,
  accessSettingsSchema,
  examples: {
    baseUrl: 'https://sisense.example.com',
    settings: {
      emailClaim: 'sub',
      firstNameClaim: 'firstName',
      lastNameClaim: 'lastName',
      tokenTtlSeconds: 300,
      allowedOrigins: ['https://app.example.com'],
      logoutLandingUrl: 'https://app.example.com/signed-out',
      tenantName: 'acme',
      tenantId: '64f0c0ffee',
    },
    accessSettings: {
      sisenseTenantName: 'acme',
      sisenseTenantId: '64f0c0ffee',
      sharedAccount: { email: 'bi@acme.example', firstName: 'Acme', lastName: 'Analytics' },
    },
  },
  secrets: [{ name: 'secret', required: true, minLength: 32, description: 'Admin > Security > Single Sign On > JWT: the shared secret' }],
  checkSettings(s) {
    const problems: string[] = [];
    sisenseClaimNameClashes(problems, s as { emailClaim?: string; firstNameClaim?: string; lastNameClaim?: string });
    // Sisense's contract: an organization tenant needs its URL prefix and its tenantId claim, together.
    if ((s.tenantName === undefined) !== (s.tenantId === undefined)) {
      problems.push('settings.tenantName and settings.tenantId go together (a target for one Sisense organization tenant needs both)');
    }
    return problems;
  },
  checkAccessSettings(s) {
    if ((s.sisenseTenantName === undefined) !== (s.sisenseTenantId === undefined)) {
      return ['settings.sisenseTenantName and settings.sisenseTenantId go together (an organization tenant needs both; the system tenant neither)'];
    }
    return [];
  },
  sso,
  // Sisense's contract: the browser must call {sisense}/api/v1/authentication/logout with its cookies.
  logoutUrl: (ctx) => `${sisenseBase(ctx)}/api/v1/authentication/logout`,
  setupGuide: (t, url, groups) => ({
    where: 'Sisense: Admin > Security & Access > Single Sign-On (JWT)',
    items: [
      { label: 'Remote Login URL', value: `${url}/sso/${t.slug}` },
      { label: 'Remote Logout URL', value: `${url}/sso/${t.slug}/logout` },
      secretStep(t, 'secret', 'Shared Secret', 'in Sisense', 'SSO shared secret'),
      { label: 'Groups', note: groupsNote(groups) },
      ...(originsOf(t) ? [{ label: 'Admin > Security: CORS allowed origins', value: originsOf(t) }] : []),
    ],
  }),
});
