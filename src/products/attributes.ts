/**
 * The one place attributes are resolved, for every product and every kind of token (SSO
 * claims, signed-embed locked params, anything a product plugin derives from attributes).
 *
 * Precedence: access > user > tenant. The access's attributes are set with the global key
 * (granting access needs it); user and tenant attributes can be edited with a tenant-scoped
 * key. So what the operator bound to a tenant's access (e.g. the customer id that row-level
 * security filters on) can never be overridden by the tenant's own administrator.
 * Only string, number and boolean values count (the admin API stores nothing else).
 */
export type AttributeValue = string | number | boolean;
export type Attributes = Record<string, AttributeValue>;

export interface AttributeLayers {
  tenant?: { attributes?: Attributes | null };
  user?: { attributes?: Attributes | null };
  access?: { attributes?: Attributes | null };
}

function isValue(v: unknown): v is AttributeValue {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

/** Every attribute, each resolved by precedence (access > user > tenant). */
export function resolveAttributes(layers: AttributeLayers): Attributes {
  const out: Attributes = {};
  // Lowest first, so each more trusted layer overwrites.
  for (const layer of [layers.tenant, layers.user, layers.access]) {
    for (const [k, v] of Object.entries(layer?.attributes ?? {})) if (isValue(v)) out[k] = v;
  }
  return out;
}

/** One attribute by precedence, or undefined when no layer has it. */
export function resolveAttribute(layers: AttributeLayers, name: string): AttributeValue | undefined {
  for (const layer of [layers.access, layers.user, layers.tenant]) {
    const attrs = layer?.attributes;
    if (attrs && Object.prototype.hasOwnProperty.call(attrs, name) && isValue(attrs[name])) return attrs[name];
  }
  return undefined;
}
