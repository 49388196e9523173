/**
 * The settings a product file declares, as a small subset of JSON Schema: the same object is
 * the validation rule (validateSettings below), the OpenAPI description (admin DTOs) and what
 * an operator console renders a form from. No JSON-Schema library is a production dependency
 * here (ajv is only present through dev tools), so this one validator covers the subset used.
 *
 * Supported: string (minLength, maxLength, pattern, format uri|email|origin, enum), integer
 * (minimum, maximum), boolean, array of strings (maxItems, items as a string schema) and —
 * for the two structured access settings — object (properties/required, or
 * additionalProperties: a string schema for a map).
 */
import { isEmailAddress, normaliseEmail } from '../common/identifiers';
import { absoluteHttpUrl } from '../common/redirects';
export interface StringSchema {
  type: 'string';
  title?: string;
  description?: string;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  /** `origin`: scheme://host[:port] only (stored normalised, no trailing slash). */
  format?: 'uri' | 'email' | 'origin';
  enum?: string[];
  /** Words for the message when `pattern` fails, e.g. "a claim name (letters, digits, _ . : -)". */
  'x-pattern-message'?: string;
}

export interface IntegerSchema {
  type: 'integer';
  title?: string;
  description?: string;
  minimum?: number;
  maximum?: number;
  default?: number;
}

export interface BooleanSchema {
  type: 'boolean';
  title?: string;
  description?: string;
  default?: boolean;
}

export interface ArraySchema {
  type: 'array';
  title?: string;
  description?: string;
  items: StringSchema;
  maxItems?: number;
  /**
   * Every list setting is an allow-list (ids, origins, entities): required, so a product
   * cannot add a list without saying what a missing one means. A present list allows only
   * its entries — an empty one allows nothing, never everything; `unset` says what an absent
   * one allows. Read it with allowListPermits, never with `list.length && ...`.
   */
  'x-allow-list': { unset: 'none' | 'all' };
}

export interface NestedObjectSchema {
  type: 'object';
  title?: string;
  description?: string;
  properties?: Record<string, StringSchema>;
  required?: string[];
  /** A map: every value follows this schema (keys by `x-key-pattern`). */
  additionalProperties: false | StringSchema;
  'x-key-pattern'?: string;
  /** What a key must be, in words (the pattern is not shown to people). */
  'x-key-message'?: string;
  maxProperties?: number;
}

export type PropertySchema = StringSchema | IntegerSchema | BooleanSchema | ArraySchema | NestedObjectSchema;

export interface ObjectSchema {
  type: 'object';
  properties: Record<string, PropertySchema>;
  required?: string[];
  additionalProperties: false;
}

/**
 * Whether an allow-list setting admits `item`. A list allows exactly its entries (an empty
 * list: nothing); an absent one (undefined or null) what the schema's `unset` says; any
 * other value (a corrupted row) nothing. Fail-closed: a mistake never widens access.
 */
export function allowListPermits(schema: ArraySchema, list: unknown, item: string): boolean {
  if (list === undefined || list === null) return schema['x-allow-list'].unset === 'all';
  return Array.isArray(list) && list.includes(item);
}

const CONTROL = /[\u0000-\u001f\u007f]/;

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks `input` against `schema`. Returns the normalised value (URLs and origins in their
 * canonical form, emails lower-cased) and every problem, each naming the key as
 * `<prefix>.<key>`. Unknown keys are problems, never silently dropped: a setting the product
 * does not read is an operator's mistake. `otherKinds(key)` names the products that do have
 * that key, for a clearer message.
 */
export function validateSettings(
  schema: ObjectSchema,
  input: unknown,
  prefix: string,
  otherKinds: (key: string) => string[] = () => [],
  kind = '',
): { value: Record<string, unknown>; problems: string[] } {
  const problems: string[] = [];
  if (!isPlainObject(input)) return { value: {}, problems: [`${prefix} must be an object`] };
  const value: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(input)) {
    const prop = Object.prototype.hasOwnProperty.call(schema.properties, key) ? schema.properties[key] : undefined;
    if (!prop) {
      const others = otherKinds(key);
      problems.push(others.length ? `${prefix}.${key} does not apply to ${kind} targets (only ${others.join(', ')})` : `${prefix}.${key} is not a known setting`);
      continue;
    }
    if (raw === undefined) continue;
    const v = checkProperty(prop, raw, `${prefix}.${key}`, problems);
    if (v !== undefined) value[key] = v;
  }
  for (const key of schema.required ?? []) if (input[key] === undefined) problems.push(`${prefix}.${key} is required`);
  return { value, problems };
}

function checkProperty(s: PropertySchema, v: unknown, name: string, problems: string[]): unknown {
  switch (s.type) {
    case 'string':
      return checkString(s, v, name, problems);
    case 'integer':
      if (typeof v !== 'number' || !Number.isInteger(v) || (s.minimum !== undefined && v < s.minimum) || (s.maximum !== undefined && v > s.maximum)) {
        problems.push(`${name} must be a whole number${s.minimum !== undefined ? ` from ${s.minimum}` : ''}${s.maximum !== undefined ? ` to ${s.maximum}` : ''}`);
        return undefined;
      }
      return v;
    case 'boolean':
      if (typeof v !== 'boolean') {
        problems.push(`${name} must be true or false`);
        return undefined;
      }
      return v;
    case 'array': {
      const max = s.maxItems ?? 100;
      if (!Array.isArray(v) || v.length > max) {
        problems.push(`${name} must be a list of at most ${max} entries`);
        return undefined;
      }
      const out: string[] = [];
      v.forEach((item, i) => {
        const checked = checkString(s.items, item, `${name}[${i}]`, problems);
        if (checked !== undefined && !out.includes(checked)) out.push(checked);
      });
      return out;
    }
    case 'object':
      return checkObject(s, v, name, problems);
  }
}

function checkString(s: StringSchema, v: unknown, name: string, problems: string[]): string | undefined {
  const what = s['x-pattern-message'] ?? (s.format === 'origin' ? 'an origin like https://app.example.com' : s.format === 'uri' ? 'an absolute http(s) URL' : s.format === 'email' ? 'an email address' : 'a string');
  if (typeof v !== 'string' || v.trim() === '' || CONTROL.test(v)) {
    problems.push(`${name} must be ${what}`);
    return undefined;
  }
  if (s.maxLength !== undefined && v.length > s.maxLength) {
    problems.push(`${name} must be at most ${s.maxLength} characters`);
    return undefined;
  }
  if (s.minLength !== undefined && v.length < s.minLength) {
    problems.push(`${name} must be at least ${s.minLength} characters`);
    return undefined;
  }
  if (s.enum && !s.enum.includes(v)) {
    problems.push(`${name} must be one of ${s.enum.join(', ')}`);
    return undefined;
  }
  if (s.pattern && !new RegExp(s.pattern).test(v)) {
    problems.push(`${name} must be ${what}`);
    return undefined;
  }
  switch (s.format) {
    case 'email':
      if (!isEmailAddress(v)) break;
      return normaliseEmail(v);
    case 'uri':
    case 'origin': {
      // The rule the redirects use: a URL stored here is one we will send a browser to.
      const u = absoluteHttpUrl(v);
      if (!u) break;
      if (s.format === 'uri') return u.toString();
      if (u.origin !== v.replace(/\/$/, '')) break;
      return u.origin;
    }
    default:
      return v;
  }
  problems.push(`${name} must be ${what}`);
  return undefined;
}

function checkObject(s: NestedObjectSchema, v: unknown, name: string, problems: string[]): Record<string, string> | undefined {
  const max = s.maxProperties ?? 50;
  if (!isPlainObject(v) || Object.keys(v).length > max) {
    problems.push(`${name} must be an object${s.additionalProperties ? ` of at most ${max} entries` : ''}`);
    return undefined;
  }
  const out: Record<string, string> = {};
  let ok = true;
  for (const [k, raw] of Object.entries(v)) {
    const prop = s.properties && Object.prototype.hasOwnProperty.call(s.properties, k) ? s.properties[k] : s.additionalProperties || undefined;
    if (!prop) {
      problems.push(`${name}.${k} is not a known field`);
      ok = false;
      continue;
    }
    if (!s.properties && s['x-key-pattern'] && !new RegExp(s['x-key-pattern']).test(k)) {
      problems.push(`${name} key ${JSON.stringify(k)} must be ${s['x-key-message'] ?? 'a simpler name'}`);
      ok = false;
      continue;
    }
    const checked = checkString(prop, raw, `${name}.${k}`, problems);
    if (checked === undefined) ok = false;
    else out[k] = checked;
  }
  for (const k of s.required ?? []) {
    if (v[k] === undefined) {
      problems.push(`${name}.${k} is required`);
      ok = false;
    }
  }
  return ok ? out : undefined;
}
