import type { ApiPropertyOptions } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { registerDecorator, ValidationArguments, ValidationOptions } from 'class-validator';
import { applyDecorators } from '@nestjs/common';

/** Attribute keys: usable as a JWT claim name and as a Metabase user-attribute name. */
export const ATTRIBUTE_KEY = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
export const MAX_ATTRIBUTES = 50;
export const MAX_ATTRIBUTE_STRING = 1024;

/**
 * Registered JWT claims (RFC 7519 §4.1). Metabase never turns them into user attributes, and
 * an attribute sent as a top-level claim under one of these names would overwrite the
 * token's own iat/exp/sub. `__proto__` would not survive as an own key of a JS object.
 */
const RESERVED_KEYS = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', '__proto__']);

/**
 * Why `value` is not a flat attribute set (empty when it is). Tenant and user attributes
 * become Metabase user attributes (row-level security) and Metabase drops arrays, objects
 * and null values (the products' contracts, README), so they are refused here rather than silently lost later.
 */
export function attributeProblems(value: unknown, field = 'attributes'): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return [`${field} must be a JSON object whose values are text, numbers or true/false`];
  }
  const problems: string[] = [];
  const keys = Object.keys(value);
  if (keys.length > MAX_ATTRIBUTES) problems.push(`${field} may hold at most ${MAX_ATTRIBUTES} keys (got ${keys.length})`);
  for (const key of keys) {
    const shown = JSON.stringify(key.length > 80 ? `${key.slice(0, 80)}...` : key);
    if (!ATTRIBUTE_KEY.test(key)) {
      problems.push(`${field} key ${shown} must start with a letter or _ and contain only letters, digits, _ . - (at most 64 characters)`);
      continue;
    }
    if (RESERVED_KEYS.has(key)) {
      problems.push(`${field} key ${shown} is reserved (a registered JWT claim name)`);
      continue;
    }
    const v = (value as Record<string, unknown>)[key];
    if (typeof v === 'string') {
      if (v.length > MAX_ATTRIBUTE_STRING) problems.push(`${field}.${key} must be at most ${MAX_ATTRIBUTE_STRING} characters`);
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) problems.push(`${field}.${key} must be a finite number`);
    } else if (typeof v !== 'boolean') {
      const got = v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : typeof v;
      problems.push(`${field}.${key} must be text, a number or true/false (got ${got})`);
    }
  }
  return problems;
}

/**
 * class-validator rule for a flat attribute object. The raw JSON value is kept as parsed
 * (class-transformer would otherwise rebuild it and could drop keys before they are checked).
 */
export function IsFlatAttributes(options?: ValidationOptions): PropertyDecorator {
  const validate: PropertyDecorator = (target, propertyName) =>
    registerDecorator({
      name: 'isFlatAttributes',
      target: target.constructor,
      propertyName: propertyName as string,
      options,
      validator: {
        validate: (value: unknown) => attributeProblems(value).length === 0,
        defaultMessage: (args: ValidationArguments) => attributeProblems(args.value, args.property).join('; '),
      },
    });
  return applyDecorators(
    Transform(({ obj, key }) => (obj as Record<string, unknown>)[key]),
    validate,
  );
}

/** Swagger schema of a free-form attribute object (string/number/boolean values only). */
export const ATTRIBUTES_SCHEMA: ApiPropertyOptions = {
  type: 'object',
  additionalProperties: { oneOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] },
  description:
    'Flat object of string/number/boolean values (at most 50 keys, keys ^[A-Za-z_][A-Za-z0-9_.-]{0,63}$). ' +
    'Sent to the BI tools as user attributes (e.g. for row-level security). Replaces the whole set.',
  example: { region: 'emea', plan: 'pro', seats: 25 },
};
