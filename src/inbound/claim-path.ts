/**
 * The value of a claim named by `path`: the claim of that exact name when there is one (Auth0's
 * namespaced claims are URLs, dots included: `https://example.com/groups`), else the dotted
 * path walked through nested objects (Keycloak's `realm_access.roles`).
 */
export function claimAt(payload: Record<string, unknown>, path: string): unknown {
  if (Object.prototype.hasOwnProperty.call(payload, path)) return payload[path];
  let at: unknown = payload;
  for (const part of path.split('.')) {
    if (typeof at !== 'object' || at === null || Array.isArray(at) || !Object.prototype.hasOwnProperty.call(at, part)) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

/** Group names from a claim: an array of strings (others dropped), or one string (Entra ID sends one group as a string). */
export function groupsFrom(value: unknown): string[] | undefined {
  if (typeof value === 'string') return [value.trim()];
  if (!Array.isArray(value)) return undefined;
  return value.filter((g): g is string => typeof g === 'string').map((g) => g.trim());
}
