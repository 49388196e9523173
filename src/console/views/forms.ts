import { h } from './layout';

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
export function formOpen(action: string, csrf: string, state?: FormState, extra = ''): string {
  return `<form method="post" action="${h(action)}"${extra}>
<input type="hidden" name="_csrf" value="${h(csrf)}">
${state?.error ? `<p class="alert" role="alert">${h(state.error)}</p>` : ''}`;
}

interface FieldOpts {
  form: string;
  name: string;
  label: string;
  state?: FormState;
  type?: 'text' | 'email' | 'password' | 'number' | 'url' | 'search' | 'datetime-local';
  hint?: string;
  attrs?: string;
  /** Overrides the value from the state (never set for passwords). */
  value?: string;
}

/** A labelled input; its error sits right under it, tied by aria-describedby. */
export function input(o: FieldOpts): string {
  const id = `${o.form}-${o.name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const err = o.state?.errors[o.name];
  const described = [err ? `${id}-error` : '', o.hint ? `${id}-hint` : ''].filter(Boolean).join(' ');
  const value = o.type === 'password' ? '' : (o.value ?? str(o.state?.values[o.name]));
  return `<label for="${id}">${h(o.label)}</label>
<input id="${id}" name="${h(o.name)}" type="${o.type ?? 'text'}" value="${h(value)}"${o.attrs ? ` ${o.attrs}` : ''}${err ? ' aria-invalid="true"' : ''}${described ? ` aria-describedby="${described}"` : ''}>
${o.hint ? `<p class="hint" id="${id}-hint">${h(o.hint)}</p>` : ''}${err ? `<p class="field-error" id="${id}-error">${h(err)}</p>` : ''}`;
}

export function textarea(o: FieldOpts): string {
  const id = `${o.form}-${o.name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const err = o.state?.errors[o.name];
  const described = [err ? `${id}-error` : '', o.hint ? `${id}-hint` : ''].filter(Boolean).join(' ');
  return `<label for="${id}">${h(o.label)}</label>
<textarea id="${id}" name="${h(o.name)}"${o.attrs ? ` ${o.attrs}` : ''}${err ? ' aria-invalid="true"' : ''}${described ? ` aria-describedby="${described}"` : ''}>${h(o.value ?? str(o.state?.values[o.name]))}</textarea>
${o.hint ? `<p class="hint" id="${id}-hint">${h(o.hint)}</p>` : ''}${err ? `<p class="field-error" id="${id}-error">${h(err)}</p>` : ''}`;
}

export function select(o: FieldOpts & { options: { value: string; label: string }[] }): string {
  const id = `${o.form}-${o.name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const err = o.state?.errors[o.name];
  const current = o.value ?? str(o.state?.values[o.name]);
  return `<label for="${id}">${h(o.label)}</label>
<select id="${id}" name="${h(o.name)}"${o.attrs ? ` ${o.attrs}` : ''}${err ? ` aria-invalid="true" aria-describedby="${id}-error"` : ''}>
${o.options.map((opt) => `<option value="${h(opt.value)}"${opt.value === current ? ' selected' : ''}>${h(opt.label)}</option>`).join('')}
</select>
${o.hint ? `<p class="hint">${h(o.hint)}</p>` : ''}${err ? `<p class="field-error" id="${id}-error">${h(err)}</p>` : ''}`;
}

export function checkbox(o: FieldOpts & { checked: boolean }): string {
  const id = `${o.form}-${o.name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const err = o.state?.errors[o.name];
  return `<div class="check"><input id="${id}" name="${h(o.name)}" type="checkbox" value="true"${o.checked ? ' checked' : ''}${err ? ` aria-invalid="true" aria-describedby="${id}-error"` : ''}><label for="${id}">${h(o.label)}</label>
${o.hint ? `<p class="hint">${h(o.hint)}</p>` : ''}${err ? `<p class="field-error" id="${id}-error">${h(err)}</p>` : ''}</div>`;
}

/** A one-button POST form (disable, revoke, remove). */
export function actionButton(action: string, csrf: string, label: string, cls = 'secondary small', hidden: Record<string, string> = {}): string {
  const fields = Object.entries(hidden).map(([k, v]) => `<input type="hidden" name="${h(k)}" value="${h(v)}">`).join('');
  return `<form method="post" action="${h(action)}"><input type="hidden" name="_csrf" value="${h(csrf)}">${fields}<button type="submit" class="${cls}">${h(label)}</button></form>`;
}

export function tag(text: string, off = false): string {
  return `<span class="tag${off ? ' off' : ''}">${h(text)}</span>`;
}

export function when(d: Date | string | null | undefined): string {
  if (!d) return '';
  const date = d instanceof Date ? d : new Date(d);
  return `<time datetime="${h(date.toISOString())}">${h(date.toISOString().replace('T', ' ').slice(0, 16))} UTC</time>`;
}
