import { databricks } from './databricks/databricks';
import { grafana } from './grafana/grafana';
import { looker } from './looker/looker';
import { qlik } from './qlik/qlik';
import { metabase } from './metabase/metabase';
import { powerbi } from './powerbi/powerbi';
import { sisense } from './sisense/sisense';
import { sigma } from './sigma/sigma';
import { tableau } from './tableau/tableau';
import { superset } from './superset/superset';
import { validateSettings } from './settings-schema';
import type { TargetDefinition } from './product-definition';
import type { ErrorCopy } from '../common/error-pages';

/**
 * The products we serve. Adding one: a folder beside this file (its definition, setup guide,
 * error-page words, demo page and spec), a line here, its fake in test/fakes/ and its tests.
 * Everything else (kinds accepted by the API, settings validation and documentation, secrets,
 * routes by capability, console forms and setup panels) is derived from these definitions.
 */
export const TARGET_DEFINITIONS: readonly TargetDefinition[] = [metabase, sisense, databricks, tableau, sigma, grafana, qlik, looker, powerbi, superset];

/** The kinds, as the admin API accepts them and the database stores them (text, checked here). */
export const TARGET_KINDS: readonly string[] = TARGET_DEFINITIONS.map((d) => d.kind);

const BY_KIND = new Map(TARGET_DEFINITIONS.map((d) => [d.kind, d]));

/** The definition of a kind; undefined for a kind no definition has (e.g. a removed product). */
export function targetDefinition(kind: string): TargetDefinition | undefined {
  return BY_KIND.get(kind);
}

/**
 * Every product's error-page words for its own codes, for the error filter (common/, below
 * the products, is handed them at start). Two products naming one code differently would make
 * one of them wrong: refused here, at start.
 */
export function productErrorCopy(definitions: readonly TargetDefinition[] = TARGET_DEFINITIONS): Record<string, ErrorCopy> {
  const out: Record<string, ErrorCopy> = {};
  const from: Record<string, string> = {};
  for (const d of definitions) {
    for (const [code, copy] of Object.entries(d.errorCopy ?? {})) {
      if (from[code] && JSON.stringify(out[code]) !== JSON.stringify(copy)) throw new Error(`error code ${code} has different words in ${from[code]} and ${d.kind}`);
      out[code] = copy;
      from[code] = d.kind;
    }
  }
  return out;
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
