/**
 * The shapes a product definition describes and the catalog stores: the lowest layer, so the
 * definitions (here) and the entities that store them (src/catalog/) share them without the
 * definitions importing an entity.
 */

/**
 * A product kind: stored as text and checked by the application against the definitions in
 * src/products/ (no CHECK listing kinds: adding a product needs no migration).
 */
export type TargetKind = string;

/**
 * Product settings, validated per kind by the settingsSchema of its definition in
 * src/products/. Shared code reads only `allowedOrigins` (CORS) and `logoutLandingUrl`.
 */
export type TargetSettings = Record<string, unknown>;

/** local group name -> the product's group names. */
export type GroupMappings = Record<string, string[]>;

/**
 * Per-tenant settings for one target, validated by the accessSettingsSchema of the target's
 * product definition; only the product file reads them.
 */
export type AccessSettings = Record<string, unknown>;
