import { ArgumentMetadata, Injectable, PipeTransform } from '@nestjs/common';
import { badRequest, CommonError } from './errors';

/** Deeper than any body this API takes; bounds the work (and recursion) spent on a request. */
const MAX_DEPTH = 16;
/** NUL, which Postgres cannot store in text or jsonb, and UTF-16 halves with no partner. */
const BAD_CHARS = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** Keys that name JavaScript's prototype machinery: refused, never silently dropped. */
const BAD_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Runs before the ValidationPipe on every body, query and route parameter: a value with a
 * NUL or a lone surrogate (which would reach Postgres and fail there as a 500), a key like
 * `__proto__`, or nesting deeper than MAX_DEPTH is a 400 naming where it is.
 */
@Injectable()
export class InputSanityPipe implements PipeTransform {
  transform(value: unknown, meta: ArgumentMetadata): unknown {
    if (meta.type === 'custom') return value;
    check(value, meta.type === 'param' && meta.data ? meta.data : meta.type, 0);
    return value;
  }
}

function check(v: unknown, path: string, depth: number): void {
  if (typeof v === 'string') {
    if (BAD_CHARS.test(v)) {
      throw badRequest(CommonError.InvalidCharacters, `${path} contains a character that is not allowed (NUL or an unpaired surrogate)`, { field: path });
    }
    return;
  }
  if (typeof v !== 'object' || v === null) return;
  if (depth >= MAX_DEPTH) throw badRequest(CommonError.TooDeeplyNested, `${path} is nested more than ${MAX_DEPTH} levels deep`, { field: path });
  if (Array.isArray(v)) {
    v.forEach((item, i) => check(item, `${path}[${i}]`, depth + 1));
    return;
  }
  for (const key of Object.keys(v)) {
    if (BAD_KEYS.has(key) || BAD_CHARS.test(key)) {
      throw badRequest(CommonError.InvalidKey, `${path} has a key that is not allowed (${JSON.stringify(key.replace(/\u0000/g, '\\0'))})`, { field: path });
    }
    check((v as Record<string, unknown>)[key], `${path}.${key}`, depth + 1);
  }
}
