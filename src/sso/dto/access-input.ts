import { attributeProblems } from '../../tenants/attributes';
import type { FlatAttributes } from '../../tenants/tenant.entity';
import type { AccessSettings, GroupMappings } from '../access.entity';
import type { TargetKind } from '../target.entity';

/** A tenant's grant to a target, as PUT replaces it whole. */
export interface AccessInput {
  groupMappings: GroupMappings;
  attributes: FlatAttributes;
  settings: AccessSettings;
}

export interface AccessView extends AccessInput {
  id: string;
  tenantId: string;
  targetId: string;
  targetSlug: string;
  targetKind: TargetKind;
  createdAt: Date;
  updatedAt: Date;
}

const TOP_LEVEL = ['groupMappings', 'attributes', 'settings'];

/**
 * Which products read which access setting. A setting for another product would be silently
 * ignored by the SSO flow, so it is refused instead (the admin meant something else).
 */
const SETTING_KINDS: Record<keyof AccessSettings, readonly TargetKind[]> = {
  sisenseTenantName: ['sisense'],
  sisenseTenantId: ['sisense'],
  metabaseTenantSlug: ['metabase'],
  sharedAccount: ['metabase', 'sisense'],
  lockedParams: ['metabase'],
  externalValueAttribute: ['databricks'],
};

const MAX_ENTRIES = 100;
const MAX_NAME = 100;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const isName = (v: unknown, max = MAX_NAME): v is string =>
  typeof v === 'string' && v.trim() !== '' && v.length <= max && !/[\u0000-\u001f\u007f]/.test(v);

/**
 * Validates a PUT body for /tenants/:tenantId/access/:targetId against the target's kind.
 * Returns the normalised grant and every problem found, each naming its field.
 */
export function parseAccessInput(body: unknown, kind: TargetKind): { value: AccessInput; problems: string[] } {
  const problems: string[] = [];
  const value: AccessInput = { groupMappings: {}, attributes: {}, settings: {} };
  if (!isPlainObject(body)) return { value, problems: ['the body must be a JSON object'] };
  for (const k of Object.keys(body)) if (!TOP_LEVEL.includes(k)) problems.push(`${k} is not a known field`);
  if (body.groupMappings !== undefined) value.groupMappings = parseGroupMappings(body.groupMappings, problems);
  if (body.attributes !== undefined) value.attributes = parseAttributes(body.attributes, problems);
  if (body.settings !== undefined) value.settings = parseSettings(body.settings, kind, problems);
  return { value, problems };
}

/** local group name -> the product's group names (Metabase/Sisense groups must exist there). */
function parseGroupMappings(v: unknown, problems: string[]): GroupMappings {
  if (!isPlainObject(v)) {
    problems.push('groupMappings must be an object of local group name -> list of product group names');
    return {};
  }
  const entries = Object.entries(v);
  if (entries.length > MAX_ENTRIES) problems.push(`groupMappings must have at most ${MAX_ENTRIES} entries`);
  const out: [string, string[]][] = [];
  for (const [local, mapped] of entries.slice(0, MAX_ENTRIES)) {
    // groups.name is varchar(100): a longer local name could never match a group.
    if (!isName(local)) problems.push(`groupMappings key ${JSON.stringify(local)} must be a group name of 1 to ${MAX_NAME} characters`);
    if (!Array.isArray(mapped) || mapped.length > MAX_ENTRIES || !mapped.every((g) => isName(g, 200))) {
      problems.push(`groupMappings.${local} must be a list of at most ${MAX_ENTRIES} product group names (1 to 200 characters each)`);
      continue;
    }
    out.push([local, [...new Set(mapped as string[])]]);
  }
  return Object.fromEntries(out);
}

/**
 * The same rules as tenant and user attributes (src/tenants/attributes.ts): these are merged
 * with them into the token, where Metabase keeps flat values as user attributes (CONTRACTS).
 */
function parseAttributes(v: unknown, problems: string[]): FlatAttributes {
  const found = attributeProblems(v, 'attributes');
  problems.push(...found);
  return found.length ? {} : Object.fromEntries(Object.entries(v as FlatAttributes));
}

function parseSettings(v: unknown, kind: TargetKind, problems: string[]): AccessSettings {
  if (!isPlainObject(v)) {
    problems.push('settings must be an object');
    return {};
  }
  const out: AccessSettings = {};
  for (const key of Object.keys(v)) {
    const kinds = Object.prototype.hasOwnProperty.call(SETTING_KINDS, key) ? SETTING_KINDS[key as keyof AccessSettings] : undefined;
    if (!kinds) problems.push(`settings.${key} is not a known setting`);
    else if (!kinds.includes(kind)) problems.push(`settings.${key} does not apply to ${kind} targets (only ${kinds.join(', ')})`);
  }

  // Sisense organization tenant: the name prefixes the URL ({sisense}/{tenant_name}/jwt) and the
  // id goes in the tenantId claim (required for an organization tenant, absent for the system one).
  if (v.sisenseTenantName !== undefined) {
    if (typeof v.sisenseTenantName === 'string' && /^[A-Za-z0-9_-]{1,100}$/.test(v.sisenseTenantName)) out.sisenseTenantName = v.sisenseTenantName;
    else problems.push('settings.sisenseTenantName must be the Sisense tenant name (letters, digits, _ and -; at most 100)');
  }
  if (v.sisenseTenantId !== undefined) {
    if (typeof v.sisenseTenantId === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(v.sisenseTenantId)) out.sisenseTenantId = v.sisenseTenantId;
    else problems.push('settings.sisenseTenantId must be the Sisense tenant id (letters, digits, _ and -; at most 64)');
  }
  if ((v.sisenseTenantName === undefined) !== (v.sisenseTenantId === undefined)) {
    problems.push('settings.sisenseTenantName and settings.sisenseTenantId go together (an organization tenant needs both; the system tenant neither)');
  }

  // CONTRACTS, Metabase multi-tenancy: @tenant must match ^[-_a-z0-9]{1,255}$.
  if (v.metabaseTenantSlug !== undefined) {
    if (typeof v.metabaseTenantSlug === 'string' && /^[-_a-z0-9]{1,255}$/.test(v.metabaseTenantSlug)) out.metabaseTenantSlug = v.metabaseTenantSlug;
    else problems.push('settings.metabaseTenantSlug must match ^[-_a-z0-9]{1,255}$ (Metabase tenant slug)');
  }

  if (v.sharedAccount !== undefined) {
    const account = parseSharedAccount(v.sharedAccount, problems);
    if (account) out.sharedAccount = account;
  }

  // Metabase signed embeds: locked parameter -> the attribute whose value it is locked to.
  if (v.lockedParams !== undefined) {
    const lp = v.lockedParams;
    if (!isPlainObject(lp) || Object.keys(lp).length > 50) {
      problems.push('settings.lockedParams must be an object of at most 50 entries: parameter name -> attribute name');
    } else {
      const entries: [string, string][] = [];
      for (const [param, attr] of Object.entries(lp)) {
        if (!/^[A-Za-z0-9_-]{1,100}$/.test(param)) problems.push(`settings.lockedParams key ${JSON.stringify(param)} must be a parameter name (letters, digits, _ and -)`);
        else if (!isName(attr)) problems.push(`settings.lockedParams.${param} must be an attribute name of 1 to ${MAX_NAME} characters`);
        else entries.push([param, attr]);
      }
      out.lockedParams = Object.fromEntries(entries);
    }
  }

  // Databricks: this attribute's value is sent as external_value (row-level security).
  if (v.externalValueAttribute !== undefined) {
    if (isName(v.externalValueAttribute)) out.externalValueAttribute = v.externalValueAttribute;
    else problems.push(`settings.externalValueAttribute must be an attribute name of 1 to ${MAX_NAME} characters`);
  }
  return out;
}

/** "One BI account per client": the identity every user of the tenant signs in as. */
function parseSharedAccount(v: unknown, problems: string[]): AccessSettings['sharedAccount'] | undefined {
  if (!isPlainObject(v)) {
    problems.push('settings.sharedAccount must be an object {email, firstName?, lastName?}');
    return undefined;
  }
  let ok = true;
  for (const k of Object.keys(v)) {
    if (!['email', 'firstName', 'lastName'].includes(k)) {
      problems.push(`settings.sharedAccount.${k} is not a known field`);
      ok = false;
    }
  }
  // Metabase compares emails lower-cased; Sisense keys users by email: store it lower-cased.
  if (typeof v.email !== 'string' || v.email.length > 254 || !EMAIL.test(v.email)) {
    problems.push('settings.sharedAccount.email must be an email address');
    ok = false;
  }
  for (const k of ['firstName', 'lastName'] as const) {
    if (v[k] !== undefined && !(typeof v[k] === 'string' && (v[k] as string).length <= 100)) {
      problems.push(`settings.sharedAccount.${k} must be a string of at most 100 characters`);
      ok = false;
    }
  }
  if (!ok) return undefined;
  const account: NonNullable<AccessSettings['sharedAccount']> = { email: (v.email as string).toLowerCase() };
  if (v.firstName !== undefined) account.firstName = v.firstName as string;
  if (v.lastName !== undefined) account.lastName = v.lastName as string;
  return account;
}
