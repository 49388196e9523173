import { Transform } from 'class-transformer';
import { isEmail, Matches, ValidateBy, ValidationOptions } from 'class-validator';
import { notFound } from './errors';

/**
 * The identifiers this service takes from people and URLs, one rule each: slugs (tenants,
 * targets), UUIDs (ids in admin paths), email addresses. The DTO decorators, the login form,
 * the services and the schema's CHECK constraints all use these constants, so they cannot drift.
 */

// --- Slugs ------------------------------------------------------------------------------

/**
 * Tenant and target slugs: URL path segments (/login?tenant=<slug>, /sso/<slug>), and a
 * tenant's may become Metabase's `@tenant` claim, whose values must match ^[-_a-z0-9]{1,255}$
 * (the products' contracts, README): this is a subset. Also a CHECK constraint (`slugCheck`).
 */
export const SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;

export const SLUG_MESSAGE = 'slug must be 1-63 lower-case letters, digits or hyphens, starting with a letter or digit';

export function isSlug(value: unknown): value is string {
  return typeof value === 'string' && SLUG.test(value);
}

/** The CHECK constraint's expression for a slug column (Postgres ARE reads this pattern alike). */
export function slugCheck(column: string): string {
  return `${column} ~ '${SLUG.source}'`;
}

/** A slug in a request body. */
export const IsSlug = () => Matches(SLUG, { message: SLUG_MESSAGE });

// --- UUIDs ------------------------------------------------------------------------------

/** Any RFC 9562 UUID (Postgres `uuid` accepts every version, and either case). */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/** `raw` as a lower-case UUID, else notFound(code): a malformed id answers like an unknown one. */
export function uuidOrNotFound(raw: unknown, notFoundCode: string): string {
  if (!isUuid(raw)) throw notFound(notFoundCode);
  return raw.toLowerCase();
}

/**
 * Admin paths name a tenant or a target by id or by slug, and a UUID there is read as an id:
 * so a slug may not have the form of one (it could never be addressed by its slug).
 */
export const NotUuidShaped = () =>
  ValidateBy(
    { name: 'notUuidShaped', validator: { validate: (value: unknown) => typeof value === 'string' && !UUID.test(value) } },
    { message: 'slug must not have the form of a UUID (paths take an id or a slug)' },
  );

/**
 * A tenant named in a body or query: its id or its slug (resolved by TenantsService.idOf).
 * Case is not checked here: an upper-case slug names no tenant and answers the same 404.
 */
export const IsTenantRef = () =>
  ValidateBy(
    { name: 'isTenantRef', validator: { validate: (value: unknown) => isUuid(value) || (typeof value === 'string' && isSlug(value.toLowerCase())) } },
    { message: 'tenantId must be a tenant id (UUID) or slug' },
  );

// --- Email addresses --------------------------------------------------------------------

/** RFC 5321 limits a path to 256 octets, so an address to 254 characters. */
export const MAX_EMAIL_LENGTH = 254;

/**
 * One rule for an email address, wherever one is entered: users, BI identities, a shared BI
 * account, the login form (validator.js `isEmail`: a dotted domain, a local part of at most
 * 64 characters). An address that fails it cannot be stored, so the login form may refuse it.
 */
export function isEmailAddress(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_EMAIL_LENGTH && isEmail(value);
}

/**
 * Emails are the BI tools' identity key, compared lower-cased (Metabase does; Sisense keys
 * users by email): stored and looked up trimmed and lower-cased.
 */
export function normaliseEmail(value: string): string {
  return value.trim().toLowerCase();
}

/** An email address in a request body (after `TrimLower()`). */
export const IsEmailAddress = (message = 'email must be an email address', options?: ValidationOptions) =>
  ValidateBy({ name: 'isEmailAddress', validator: { validate: (value: unknown) => isEmailAddress(value) } }, { message, ...options });

// --- Transformers -----------------------------------------------------------------------

const trimmed = (v: unknown) => (typeof v === 'string' ? v.trim() : v);

/** Trims a string (each string of an array with `each`); other values pass through to the validators. */
export const Trim = (opts: { each?: boolean } = {}) =>
  Transform(({ value }) => (opts.each && Array.isArray(value) ? value.map(trimmed) : trimmed(value)));

/** Trims and lower-cases a string (emails, see `normaliseEmail`). */
export const TrimLower = () => Transform(({ value }) => (typeof value === 'string' ? normaliseEmail(value) : value));
