import type { ObjectSchema, PropertySchema } from './product-schemas';
import { checkbox, FormState, input, select, str, textarea } from './views/forms';
import { html, joinHtml, SafeHtml } from '../common/html';

/**
 * Forms from a product's settings schema (a small JSON Schema subset), and back: each
 * property is one field named `<prefix>.<key>`; a nested object's properties are
 * `<prefix>.<key>.<sub>`; an array of strings is one per line; a map is `name = value` lines.
 * The parsed object goes to the same service the admin API uses, which says what is wrong
 * per key ("settings.tokenTtlSeconds must be ..."): the console puts that by the field.
 */

/** Field values for a form from a stored settings object. */
export function valuesFromSettings(schema: ObjectSchema, prefix: string, settings: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, p] of Object.entries(schema.properties)) {
    const name = `${prefix}.${key}`;
    const v = settings[key];
    if (v === undefined || v === null) continue;
    if (p.type === 'object' && p.properties) {
      for (const sub of Object.keys(p.properties)) {
        const sv = (v as Record<string, unknown>)[sub];
        if (sv !== undefined) out[`${name}.${sub}`] = String(sv);
      }
    } else if (p.type === 'object') {
      out[name] = Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k} = ${String(x)}`).join('\n');
    } else if (p.type === 'array') {
      out[name] = (v as unknown[]).map(String).join('\n');
    } else if (p.type === 'boolean') {
      out[name] = v === true ? 'true' : '';
    } else {
      out[name] = String(v);
    }
  }
  return out;
}

/** Every field name the schema renders (for placing errors). */
export function fieldNames(schema: ObjectSchema, prefix: string): string[] {
  return Object.entries(schema.properties).flatMap(([key, p]) => {
    const name = `${prefix}.${key}`;
    return p.type === 'object' && p.properties ? [name, ...Object.keys(p.properties).map((s) => `${name}.${s}`)] : [name];
  });
}

/** Each rendered field's label (its schema title), to name it in an error instead of its path. */
export function fieldTitles(schema: ObjectSchema, prefix: string): Record<string, string> {
  return Object.fromEntries(
    Object.entries(schema.properties).flatMap(([key, p]) => {
      const name = `${prefix}.${key}`;
      const own: [string, string][] = [[name, p.title ?? key]];
      if (p.type === 'object' && p.properties) for (const [k, c] of Object.entries(p.properties)) own.push([`${name}.${k}`, `${p.title ?? key}: ${c.title ?? k}`]);
      return own;
    }),
  );
}

export function renderSchemaFields(schema: ObjectSchema, prefix: string, form: string, state: FormState): SafeHtml {
  return joinHtml(
    Object.entries(schema.properties).map(([key, p]) => renderProperty(`${prefix}.${key}`, key, p, form, state)),
    '\n',
  );
}

function renderProperty(name: string, key: string, p: PropertySchema, form: string, state: FormState): SafeHtml {
  const label = p.title ?? key;
  const hint = [p.description, p.minimum !== undefined && p.maximum !== undefined ? `${p.minimum} to ${p.maximum}` : ''].filter(Boolean).join(' · ') || undefined;
  if (p.type === 'boolean') return checkbox({ form, name, label, state, hint, checked: str(state.values[name]) === 'true' });
  if (p.type === 'integer') {
    // No browser-side limits beyond the hint: the server's message is the one that counts, next to the field.
    return input({ form, name, label, state, hint, attrs: html`inputmode="numeric"` });
  }
  if (p.type === 'array') {
    const empty = p['x-allow-list']?.unset === 'all' ? ' Empty: none.' : '';
    return textarea({ form, name, label, state, hint: `${hint ? `${hint}. ` : ''}One per line.${empty}` });
  }
  if (p.type === 'object' && p.properties) {
    const err = state.errors[name];
    return html`<fieldset><legend>${label}</legend>${p.description && html`<p class="hint">${p.description}</p>`}
${joinHtml(Object.entries(p.properties).map(([sub, sp]) => renderProperty(`${name}.${sub}`, sub, sp, form, state)), '\n')}
${err && html`<p class="field-error">${err}</p>`}</fieldset>`;
  }
  if (p.type === 'object') return textarea({ form, name, label, state, hint: `${hint ? `${hint}. ` : ''}One "name = value" per line.` });
  if (p.type === 'string' && p.enum?.length) {
    // A fixed set of values is a choice, not something to type; the first option leaves the
    // setting out, so the product's default (named in the hint) applies.
    return select({ form, name, label, state, hint, options: [{ value: '', label: 'Default' }, ...p.enum.map((v) => ({ value: v, label: v }))] });
  }
  const type = p.format === 'email' ? 'email' : p.format === 'uri' ? 'url' : 'text';
  return input({ form, name, label, state, hint, type, attrs: html`spellcheck="false" autocapitalize="none"` });
}

/**
 * The settings object a submitted form describes (empty fields are left out: the product's
 * default applies), and problems only the form can have (a map line without "=").
 */
export function settingsFromForm(schema: ObjectSchema, prefix: string, body: Record<string, unknown>): { settings: Record<string, unknown>; problems: Record<string, string> } {
  const settings: Record<string, unknown> = {};
  const problems: Record<string, string> = {};
  const text = (name: string) => (typeof body[name] === 'string' ? (body[name] as string) : '');
  for (const [key, p] of Object.entries(schema.properties)) {
    const name = `${prefix}.${key}`;
    const raw = text(name).trim();
    if (p.type === 'boolean') {
      if (raw === 'true') settings[key] = true;
    } else if (p.type === 'integer') {
      // A non-number is passed on as typed: the product's own check names the rule.
      if (raw !== '') settings[key] = /^-?\d{1,15}$/.test(raw) ? Number(raw) : raw;
    } else if (p.type === 'array') {
      const items = raw.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
      // A form cannot tell "absent" from "emptied". Where absence would allow everything
      // (unset: 'all'), an empty field is an empty list, which allows nothing: clearing the
      // field never widens access.
      if (items.length || p['x-allow-list']?.unset === 'all') settings[key] = items;
    } else if (p.type === 'object' && p.properties) {
      const obj: Record<string, string> = {};
      for (const sub of Object.keys(p.properties)) {
        const v = text(`${name}.${sub}`).trim();
        if (v !== '') obj[sub] = v;
      }
      if (Object.keys(obj).length) settings[key] = obj;
    } else if (p.type === 'object') {
      const map: Record<string, string> = {};
      for (const line of raw.split(/\r?\n/).map((l) => l.trim()).filter(Boolean)) {
        const i = line.indexOf('=');
        if (i <= 0) {
          problems[name] = `Each line must be "name = value" (not ${JSON.stringify(line.slice(0, 40))})`;
          continue;
        }
        map[line.slice(0, i).trim()] = line.slice(i + 1).trim();
      }
      if (Object.keys(map).length) settings[key] = map;
    } else if (raw !== '') {
      settings[key] = raw;
    }
  }
  return { settings, problems };
}
