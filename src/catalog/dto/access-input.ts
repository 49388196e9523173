import { attributeProblems } from '../../tenants/attributes';
import type { FlatAttributes } from '../../tenants/tenant.entity';
import type { AccessSettings, GroupMappings } from '../access.entity';
import type { TargetKind } from '../target.entity';
import { parseAccessSettings, targetDefinition } from '../../products';

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

const MAX_ENTRIES = 100;
const MAX_NAME = 100;

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
 * with them into the token, where Metabase keeps flat values as user attributes (its contract, README "Metabase").
 */
function parseAttributes(v: unknown, problems: string[]): FlatAttributes {
  const found = attributeProblems(v, 'attributes');
  problems.push(...found);
  return found.length ? {} : Object.fromEntries(Object.entries(v as FlatAttributes));
}

/** The product's access settings, by the accessSettingsSchema of its definition (src/products/). */
function parseSettings(v: unknown, kind: TargetKind, problems: string[]): AccessSettings {
  const def = targetDefinition(kind);
  if (!def) {
    problems.push(`the target's kind "${kind}" is not a product this service serves`);
    return {};
  }
  const parsed = parseAccessSettings(def, v);
  problems.push(...parsed.problems);
  return parsed.settings;
}
