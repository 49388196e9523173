import type { AttributeValue } from '../products/attributes';

/**
 * An attribute value typed in a console text field, read as the API reads JSON: `42` is the
 * number 42, `true`/`false` booleans, anything else text. The token a BI product gets must not
 * depend on the tool that set the value: Metabase and Databricks compare `42` and `"42"` as
 * different values (a number column against a string). Text that would read as a number or a
 * boolean is written in double quotes (`"42"`), as in JSON.
 */
export function parseAttributeInput(raw: string): AttributeValue {
  const s = raw.trim();
  if (s === 'true') return true;
  if (s === 'false') return false;
  // JSON's number grammar (RFC 8259 section 6), so `0x10`, `1e999`, ` 1_000` and `Infinity` stay text.
  if (/^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(s)) {
    const n = Number(s);
    if (Number.isFinite(n)) return n;
  }
  if (s.length >= 2 && s.startsWith('"') && s.endsWith('"')) {
    try {
      const v: unknown = JSON.parse(s);
      if (typeof v === 'string') return v;
    } catch {
      /* not a JSON string: kept as typed */
    }
  }
  return s;
}

/** The text that parseAttributeInput reads back as the same value (a stored value in its form field). */
export function formatAttributeInput(v: AttributeValue): string {
  if (typeof v !== 'string') return String(v);
  return typeof parseAttributeInput(v) === 'string' && parseAttributeInput(v) === v.trim() && v === v.trim() ? v : JSON.stringify(v);
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : []);

/**
 * The attribute rows of a console form (`attr_key` / `attr_value`, one pair a row), read as the
 * API's JSON object would be: blank rows skipped, each value typed by parseAttributeInput.
 * `values` is what the form shows back after a refusal.
 */
export function attributesFromForm(body: Record<string, unknown>): { attributes: Record<string, AttributeValue>; values: { attr_key: string[]; attr_value: string[] }; error?: string } {
  const keys = strings(body.attr_key);
  const vals = strings(body.attr_value);
  const attributes: Record<string, AttributeValue> = {};
  let error: string | undefined;
  for (let i = 0; i < Math.max(keys.length, vals.length); i++) {
    const k = (keys[i] ?? '').trim();
    const v = (vals[i] ?? '').trim();
    if (!k && !v) continue;
    if (!k) error = 'Each attribute needs a name.';
    else attributes[k] = parseAttributeInput(v);
  }
  return { attributes, values: { attr_key: keys, attr_value: vals }, error };
}

/** A stored attributes object as the form's rows. */
export function attributeRows(attributes: Record<string, AttributeValue>): { attr_key: string[]; attr_value: string[] } {
  return { attr_key: Object.keys(attributes), attr_value: Object.values(attributes).map(formatAttributeInput) };
}
