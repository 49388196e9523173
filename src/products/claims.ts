/** Claim-building helpers shared by the product files (what is the same for every product). */

/**
 * Local group names -> the product's group names through the access's group mappings,
 * deduplicated. A local group without a mapping sends nothing (the product's groups must
 * exist there; Sisense's groups must exist, Metabase maps by name).
 */
export function mapGroups(local: string[], mappings: Record<string, string[]>): string[] {
  const out = new Set<string>();
  for (const g of local) {
    const mapped = Object.prototype.hasOwnProperty.call(mappings, g) ? mappings[g] : undefined;
    if (Array.isArray(mapped)) for (const m of mapped) if (typeof m === 'string' && m !== '') out.add(m);
  }
  return [...out];
}

/**
 * Configured claim names must not overwrite a claim we set ourselves (`reserved`), nor each
 * other: problems name the settings keys. `names` pairs a settings key with its effective name.
 */
export function claimNameClashes(
  problems: string[],
  names: [string, string][],
  reserved: { claims: readonly string[]; what: 'registered' | 'reserved' },
): void {
  for (const [key, name] of names) {
    if (reserved.claims.includes(name)) problems.push(`settings.${key} must not be the ${reserved.what} claim "${name}"`);
  }
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      if (names[i][1] === names[j][1]) problems.push(`settings.${names[i][0]} and settings.${names[j][0]} must differ (both "${names[i][1]}")`);
    }
  }
}
