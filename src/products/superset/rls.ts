import { badRequest } from '../../common/errors';
import type { AttributeLayers } from '../attributes';
import { ATTRIBUTE_NAME } from '../product-definition';

/**
 * Row-level security for Superset guest tokens. Superset puts each rule's `clause` into the
 * dataset's WHERE as raw SQL (superset/security/manager.py, get_rls_filters / the guest
 * user's rls_rules): whatever we write there is SQL. So an attribute value never reaches a
 * clause as text: it becomes a SQL literal, or the token is refused.
 *
 * Templates are written by the operator, e.g. `customer_id = {customer_id}`: each
 * `{name}` is replaced by the literal of attribute `name` (access > user > tenant).
 */

export const RlsError = {
  AttributeMissing: 'rls_attribute_missing',
  AttributeNotLiteral: 'rls_attribute_not_literal',
} as const;

/** One piece of a parsed template: SQL text as written, or an attribute placeholder. */
export type TemplatePart = { text: string } | { attribute: string };

const NAME = new RegExp(ATTRIBUTE_NAME);

/**
 * A template split into text and placeholders, or the problem with it (in words). `{` and
 * `}` only ever open and close a placeholder: a lone one is refused rather than guessed at,
 * so the operator sees the mistake when saving, not as a dashboard that filters nothing.
 */
export function parseTemplate(template: string): { parts: TemplatePart[] } | { problem: string } {
  const parts: TemplatePart[] = [];
  let text = '';
  let i = 0;
  while (i < template.length) {
    const c = template[i];
    if (c === '}') return { problem: `has a "}" at position ${i + 1} that closes no "{"` };
    if (c !== '{') {
      text += c;
      i++;
      continue;
    }
    const end = template.indexOf('}', i + 1);
    const nextOpen = template.indexOf('{', i + 1);
    if (end < 0 || (nextOpen >= 0 && nextOpen < end)) return { problem: `has a "{" at position ${i + 1} that is never closed` };
    const name = template.slice(i + 1, end);
    if (!NAME.test(name)) return { problem: `has {${name.slice(0, 40)}}, which is not an attribute name (letters, digits, _ . -; starting with a letter or _)` };
    if (text) parts.push({ text });
    text = '';
    parts.push({ attribute: name });
    i = end + 1;
  }
  if (text) parts.push({ text });
  return { parts };
}

/** Every attribute a template reads (for the setup guide and error messages). */
export function templateAttributes(template: string): string[] {
  const parsed = parseTemplate(template);
  return 'parts' in parsed ? parsed.parts.flatMap((p) => ('attribute' in p ? [p.attribute] : [])) : [];
}

/**
 * A value as a SQL literal, or null when it cannot be one:
 * - a string: single-quoted, each `'` doubled (the SQL standard's only escape inside a
 *   literal). A string with a backslash is refused: Superset puts the clause into the SQL of
 *   whichever engine the dataset is on, and while a backslash is ordinary in standard SQL
 *   (Postgres, Trino), it escapes the quote in MySQL/MariaDB, Snowflake, BigQuery,
 *   Databricks/Spark SQL and ClickHouse (`\'` would end no literal and let the rest of the
 *   value run as SQL); no one escaping is right for all of them. A NUL cannot be in a literal
 *   (Postgres refuses it, C drivers cut the string there): refused.
 * - a number: only a finite JSON number, written as JavaScript writes it (`12`, `-1.5`,
 *   `1e+21`); a string that looks like a number stays a quoted string.
 * - a boolean: TRUE / FALSE.
 * - anything else (array, object, null, NaN, Infinity, undefined): null.
 */
export function sqlLiteral(value: unknown): string | null {
  if (typeof value === 'string') return /[\u0000\\]/.test(value) ? null : `'${value.replace(/'/g, "''")}'`;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : null;
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  return null;
}

/**
 * The clause for this user: every placeholder replaced by its attribute's SQL literal.
 * Throws a 400 naming the attribute when one is missing (a clause without it would be
 * dropped or match every row: never) or is no literal.
 */
export function fillTemplate(template: string, layers: AttributeLayers): string {
  const parsed = parseTemplate(template);
  // Templates are checked when saved; one that no longer parses (edited in the database) refuses.
  if (!('parts' in parsed)) throw badRequest(RlsError.AttributeNotLiteral, `The row-level security clause ${parsed.problem}`);
  let out = '';
  for (const p of parsed.parts) {
    if ('text' in p) {
      out += p.text;
      continue;
    }
    const raw = rawAttribute(layers, p.attribute);
    if (raw === undefined) {
      throw badRequest(RlsError.AttributeMissing, `Row-level security needs attribute "${p.attribute}", which neither the access, the user nor the tenant has`, { attribute: p.attribute });
    }
    const literal = sqlLiteral(raw);
    if (literal === null) {
      throw badRequest(RlsError.AttributeNotLiteral, `Attribute "${p.attribute}" cannot be used in a row-level security clause: only text without a backslash or NUL character, finite numbers and true/false can`, { attribute: p.attribute });
    }
    out += literal;
  }
  return out;
}

/**
 * The attribute by the one precedence (access > user > tenant, the order of resolveAttribute
 * in src/products/attributes.ts; the spec checks they agree on every attribute value). resolveAttribute skips a layer whose value is no attribute
 * value (an array, an object, null: the admin API stores none, but a row can be edited);
 * here that would fall through to a less trusted layer's value, so the first layer that has
 * the name wins and a value that is no literal is refused.
 */
function rawAttribute(layers: AttributeLayers, name: string): unknown {
  for (const layer of [layers.access, layers.user, layers.tenant]) {
    const attrs = layer?.attributes as Record<string, unknown> | null | undefined;
    if (attrs && Object.prototype.hasOwnProperty.call(attrs, name) && attrs[name] !== undefined) return attrs[name];
  }
  return undefined;
}
