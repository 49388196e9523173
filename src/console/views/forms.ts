import { utcMinute } from '../../common/dates';
import { html, SafeHtml } from '../../common/html';

/** What a form shows: the values typed (kept after a refusal), errors by field, a form-level error. */
export interface FormState {
  values: Record<string, unknown>;
  errors: Record<string, string>;
  error?: string;
}

export const emptyForm = (values: Record<string, unknown> = {}): FormState => ({ values, errors: {} });

export function str(v: unknown): string {
  if (Array.isArray(v)) return v.map(str).join('\n');
  return v === undefined || v === null ? '' : String(v);
}

/** Opens a POST form with its CSRF field; `id` prefixes the field ids so several forms share a page. */
export function formOpen(action: string, csrf: string, state?: FormState, extra: SafeHtml | '' = ''): SafeHtml {
  return html`<form method="post" action="${action}"${extra}>
<input type="hidden" name="_csrf" value="${csrf}">
${state?.error && html`<p class="alert" role="alert">${state.error}</p>`}`;
}

interface FieldOpts {
  form: string;
  name: string;
  label: string;
  state?: FormState;
  type?: 'text' | 'email' | 'password' | 'number' | 'url' | 'search' | 'datetime-local';
  hint?: string;
  /** Extra attributes, written in code (e.g. html`maxlength="100"`). */
  attrs?: SafeHtml;
  /** Overrides the value from the state (never set for passwords). */
  value?: string;
}

/** A labelled input; its error sits right under it, tied by aria-describedby. */
export function input(o: FieldOpts): SafeHtml {
  const id = `${o.form}-${o.name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const err = o.state?.errors[o.name];
  const described = [err ? `${id}-error` : '', o.hint ? `${id}-hint` : ''].filter(Boolean).join(' ');
  const value = o.type === 'password' ? '' : (o.value ?? str(o.state?.values[o.name]));
  return html`<label for="${id}">${o.label}</label>
<input id="${id}" name="${o.name}" type="${o.type ?? 'text'}" value="${value}"${o.attrs && html` ${o.attrs}`}${err && html` aria-invalid="true"`}${described && html` aria-describedby="${described}"`}>
${o.hint && html`<p class="hint" id="${id}-hint">${o.hint}</p>`}${err && html`<p class="field-error" id="${id}-error">${err}</p>`}`;
}

export function textarea(o: FieldOpts): SafeHtml {
  const id = `${o.form}-${o.name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const err = o.state?.errors[o.name];
  const described = [err ? `${id}-error` : '', o.hint ? `${id}-hint` : ''].filter(Boolean).join(' ');
  return html`<label for="${id}">${o.label}</label>
<textarea id="${id}" name="${o.name}"${o.attrs && html` ${o.attrs}`}${err && html` aria-invalid="true"`}${described && html` aria-describedby="${described}"`}>${o.value ?? str(o.state?.values[o.name])}</textarea>
${o.hint && html`<p class="hint" id="${id}-hint">${o.hint}</p>`}${err && html`<p class="field-error" id="${id}-error">${err}</p>`}`;
}

export function select(o: FieldOpts & { options: { value: string; label: string }[] }): SafeHtml {
  const id = `${o.form}-${o.name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const err = o.state?.errors[o.name];
  const current = o.value ?? str(o.state?.values[o.name]);
  return html`<label for="${id}">${o.label}</label>
<select id="${id}" name="${o.name}"${o.attrs && html` ${o.attrs}`}${err && html` aria-invalid="true" aria-describedby="${id}-error"`}>
${o.options.map((opt) => html`<option value="${opt.value}"${opt.value === current && html` selected`}>${opt.label}</option>`)}
</select>
${o.hint && html`<p class="hint">${o.hint}</p>`}${err && html`<p class="field-error" id="${id}-error">${err}</p>`}`;
}

export function checkbox(o: FieldOpts & { checked: boolean }): SafeHtml {
  const id = `${o.form}-${o.name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const err = o.state?.errors[o.name];
  return html`<div class="check"><input id="${id}" name="${o.name}" type="checkbox" value="true"${o.checked && html` checked`}${err && html` aria-invalid="true" aria-describedby="${id}-error"`}><label for="${id}">${o.label}</label>
${o.hint && html`<p class="hint">${o.hint}</p>`}${err && html`<p class="field-error" id="${id}-error">${err}</p>`}</div>`;
}

/** A one-button POST form (disable, revoke, remove). */
export function actionButton(action: string, csrf: string, label: string, cls = 'secondary small', hidden: Record<string, string> = {}): SafeHtml {
  const fields = Object.entries(hidden).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`);
  return html`<form method="post" action="${action}"><input type="hidden" name="_csrf" value="${csrf}">${fields}<button type="submit" class="${cls}">${label}</button></form>`;
}

export function tag(text: string, off = false): SafeHtml {
  return html`<span class="tag${off && ' off'}">${text}</span>`;
}

export function when(d: Date | string | null | undefined): SafeHtml | '' {
  if (!d) return '';
  const date = d instanceof Date ? d : new Date(d);
  return html`<time datetime="${date.toISOString()}">${utcMinute(date)}</time>`;
}

/**
 * The page a destructive action shows first (no script needed): what will happen, the
 * action's button (posting `confirm=yes`) and a way back. A single click on the original
 * button never does it. For what cannot be undone and takes much with it (a tenant, a
 * target), `typed` asks for its slug too: the button alone does nothing.
 */
export function confirmPanel(v: {
  action: string;
  csrf: string;
  question: string;
  consequence: string;
  label: string;
  back: string;
  /** What goes with it, one line each. */
  removes?: string[];
  /** After the list: what stays, or the gentler alternative. */
  note?: string;
  typed?: { name: string; expected: string; error?: string };
}): SafeHtml {
  const t = v.typed;
  const err = t?.error;
  const button = t
    ? html`<form method="post" action="${v.action}"><input type="hidden" name="_csrf" value="${v.csrf}"><input type="hidden" name="confirm" value="yes">
<label for="confirm-${t.name}">Type <code>${t.expected}</code> to confirm</label>
<input id="confirm-${t.name}" name="${t.name}" type="text" required autocomplete="off" autocapitalize="none" spellcheck="false" maxlength="100"${err && html` aria-invalid="true" aria-describedby="confirm-${t.name}-error"`}>
${err && html`<p class="field-error" id="confirm-${t.name}-error">${err}</p>`}
<div class="row"><div><button type="submit" class="danger">${v.label}</button></div><p><a href="${v.back}">Cancel</a></p></div></form>`
    : html`<div class="row">${actionButton(v.action, v.csrf, v.label, 'danger', { confirm: 'yes' })}<p><a href="${v.back}">Cancel</a></p></div>`;
  return html`<section class="card" aria-labelledby="confirm-h">
<h2 id="confirm-h">${v.question}</h2>
<p>${v.consequence}</p>
${v.removes?.length ? html`<ul>${v.removes.map((r) => html`<li>${r}</li>`)}</ul>` : ''}
${v.note && html`<p class="muted">${v.note}</p>`}
${button}
</section>`;
}

const EXTRA_ROWS = 3;

const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(str) : v === undefined ? [] : [str(v)]);

/** Rows of two inputs (e.g. local group -> product groups), with a few blank rows to add more. */
export function pairRows(form: FormState, names: [string, string], headers: [string, string], datalist?: string): SafeHtml {
  // The filled rows, then always the same number of blank ones: a form sent back with its
  // blank rows (an error) must not grow, and a new grant must not show more than a saved one.
  const all = list(form.values[names[0]]);
  const right = list(form.values[names[1]]);
  const filled = Array.from({ length: Math.max(all.length, right.length) }, (_, i) => [all[i] ?? '', right[i] ?? ''] as const).filter(([x, y]) => x.trim() || y.trim());
  const a = filled.map(([x]) => x);
  const b = filled.map(([, y]) => y);
  const n = filled.length + EXTRA_ROWS;
  const body = Array.from({ length: n }, (_, i) => {
    const id = (name: string) => `${name}-${i}`;
    return html`<tr><td><label class="visually-hidden" for="${id(names[0])}">${headers[0]} ${i + 1}</label><input type="text" id="${id(names[0])}" name="${names[0]}" value="${a[i] ?? ''}"${datalist && html` list="${datalist}"`} maxlength="100"></td>
<td><label class="visually-hidden" for="${id(names[1])}">${headers[1]} ${i + 1}</label><input type="text" id="${id(names[1])}" name="${names[1]}" value="${b[i] ?? ''}" maxlength="1000"></td></tr>`;
  });
  return html`<div class="table-wrap"><table><thead><tr><th>${headers[0]}</th><th>${headers[1]}</th></tr></thead><tbody>${body}</tbody></table></div>`;
}

