import { databricks } from './databricks/databricks';
import { grafana } from './grafana/grafana';
import { metabase } from './metabase/metabase';
import { sisense } from './sisense/sisense';
import { validateSettings } from './settings-schema';
import type { TargetDefinition } from './product-definition';

/**
 * The products we serve. Adding one: a file beside this one, a line here, its fake and its
 * tests. Everything else (kinds accepted by the API, settings validation and documentation,
 * secrets, routes by capability) is derived from these definitions.
 */
export const TARGET_DEFINITIONS: readonly TargetDefinition[] = [metabase, sisense, databricks, grafana];

/** The kinds, as the admin API accepts them and the database stores them (text, checked here). */
export const TARGET_KINDS: readonly string[] = TARGET_DEFINITIONS.map((d) => d.kind);

const BY_KIND = new Map(TARGET_DEFINITIONS.map((d) => [d.kind, d]));

/** The definition of a kind; undefined for a kind no definition has (e.g. a removed product). */
export function targetDefinition(kind: string): TargetDefinition | undefined {
  return BY_KIND.get(kind);
}

/** Kinds other than `kind` whose access settings have `key` (for a clearer refusal). */
export function kindsWithAccessSetting(key: string, except: string): string[] {
  return TARGET_DEFINITIONS.filter((d) => d.kind !== except && Object.prototype.hasOwnProperty.call(d.accessSettingsSchema.properties, key)).map((d) => d.kind);
}

export type { TargetDefinition } from './product-definition';

/** A target's settings checked against its product's schema and cross-field rules. */
export function parseTargetSettings(def: TargetDefinition, input: unknown): { settings: Record<string, unknown>; problems: string[] } {
  const { value, problems } = validateSettings(def.settingsSchema, input, 'settings');
  if (!problems.length && def.checkSettings) problems.push(...def.checkSettings(value));
  return { settings: value, problems };
}

/** An access's settings checked against its product's schema and cross-field rules. */
export function parseAccessSettings(def: TargetDefinition, input: unknown): { settings: Record<string, unknown>; problems: string[] } {
  const { value, problems } = validateSettings(def.accessSettingsSchema, input, 'settings', (key) => kindsWithAccessSetting(key, def.kind), def.kind);
  if (def.checkAccessSettings) problems.push(...def.checkAccessSettings(value));
  return { settings: value, problems };
}
