import type { SetupTarget } from './product-definition';

/** Helpers the products' setup guides share (what each guide says is in its product's folder). */

/** A string setting as configured, or the product's default. */
export const settingOr = (t: SetupTarget, key: string, def: string): string =>
  typeof t.settings[key] === 'string' && t.settings[key] !== '' ? (t.settings[key] as string) : def;

/** The groups the operator must create in the product: every name a grant maps to. */
export const groupsNote = (groups: string[]): string =>
  groups.length ? `Create these groups there (names exactly): ${groups.join(', ')}` : 'No access grant maps groups to this target yet.';

/** The target's allowed origins, space-separated ('' when none). */
export const originsOf = (t: SetupTarget): string => (Array.isArray(t.settings.allowedOrigins) ? (t.settings.allowedOrigins as string[]).join(' ') : '');
