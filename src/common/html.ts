/**
 * HTML escaped by construction. Pages are written with the `html` tagged template: every
 * interpolated value is escaped unless it is already `SafeHtml` (the result of another
 * `html` template, or of `unsafeRaw` for a trusted constant). A value placed in a URL
 * attribute (href, src, action, ...) must also be a safe URL: a `javascript:`, `data:` or
 * other script-capable scheme is replaced by a dead link, whoever wrote the value.
 */

const TOKEN = Symbol('SafeHtml');

/** Markup that is safe to put in a page as it is. Only `html` and `unsafeRaw` make one. */
export class SafeHtml {
  private readonly markup: string;

  constructor(token: typeof TOKEN, markup: string) {
    if (token !== TOKEN) throw new TypeError('SafeHtml is made by html`...` or unsafeRaw(), never directly');
    this.markup = markup;
  }

  toString(): string {
    return this.markup;
  }

  toJSON(): string {
    return this.markup;
  }
}

/** What a template may interpolate. `null`, `undefined` and `false` render as nothing. */
export type HtmlValue = SafeHtml | string | number | false | null | undefined | readonly HtmlValue[];

/** Escapes text for element content and for quoted attribute values (both quote kinds). */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function render(v: HtmlValue): string {
  if (v instanceof SafeHtml) return v.toString();
  if (v === null || v === undefined || v === false) return '';
  if (Array.isArray(v)) return (v as readonly HtmlValue[]).map(render).join('');
  return escapeHtml(String(v));
}

/** The value as text (before escaping), for the URL check. */
function text(v: HtmlValue): string {
  if (v === null || v === undefined || v === false) return '';
  if (Array.isArray(v)) return (v as readonly HtmlValue[]).map(text).join('');
  return String(v);
}

/** Where a browser loads or navigates to the attribute's value. */
const URL_ATTR_OPEN = /\s(?:href|src|action|formaction|poster|cite|background|xlink:href)\s*=\s*(["'])([^"']*)$/i;

/** What a blocked URL becomes: a link that goes nowhere (the page still renders). */
export const BLOCKED_URL = 'about:invalid#blocked';

/**
 * Whether `url` may be put in a link or a `src`: a relative reference, or an absolute one
 * with the http, https or mailto scheme. Browsers drop tabs and newlines inside a URL and
 * ignore leading spaces and control characters (WHATWG URL, "basic URL parser"), so
 * `java\tscript:` is read as `javascript:` and is refused here too.
 */
export function isSafeUrl(url: string): boolean {
  // eslint-disable-next-line no-control-regex
  const cleaned = url.replace(/[\t\n\r]/g, '').replace(/^[\u0000-\u0020]+/, '');
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(cleaned);
  if (!scheme) return true;
  return ['http', 'https', 'mailto'].includes(scheme[1].toLowerCase());
}

/** `url` when it is safe for a link (isSafeUrl), else a dead link. For URLs outside an attribute the template sees (e.g. a meta refresh). */
export function safeUrl(url: string): string {
  return isSafeUrl(url) ? url : BLOCKED_URL;
}

/**
 * The tagged template. Escapes each value unless it is SafeHtml; arrays are concatenated
 * (each element escaped unless SafeHtml); numbers render as text. A quoted URL attribute's
 * whole value (the template's own text and the values in it) is checked with isSafeUrl.
 */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = '';
  // The URL attribute being written: where its value starts in `out`, its text so far, its quote.
  let url: { start: number; raw: string; quote: string } | null = null;
  const literal = (s: string) => {
    let rest = s;
    for (;;) {
      if (url) {
        const close = rest.indexOf(url.quote);
        if (close === -1) {
          url.raw += rest;
          out += rest;
          return;
        }
        url.raw += rest.slice(0, close);
        out = isSafeUrl(url.raw) ? out + rest.slice(0, close) : out.slice(0, url.start) + BLOCKED_URL;
        rest = rest.slice(close);
        url = null;
      }
      const open = URL_ATTR_OPEN.exec(rest);
      if (!open) {
        out += rest;
        return;
      }
      const valueStart = open.index + open[0].length - open[2].length;
      out += rest.slice(0, valueStart);
      url = { start: out.length, raw: '', quote: open[1] };
      rest = rest.slice(valueStart);
    }
  };
  literal(strings[0]);
  values.forEach((v, i) => {
    if (url) url.raw += text(v);
    out += render(v);
    literal(strings[i + 1]);
  });
  return new SafeHtml(TOKEN, out);
}

/**
 * Trusted markup as it is, unescaped. Only for constants written in this code base (a page's
 * inline CSS or script, whose CSP hash is computed over exactly this text): never for a value
 * that came from a request, the database or configuration. Each use says why it is safe.
 */
export function unsafeRaw(trustedMarkup: string): SafeHtml {
  return new SafeHtml(TOKEN, trustedMarkup);
}

/** Items joined by a separator (escaped unless SafeHtml), as one SafeHtml. */
export function joinHtml(items: readonly HtmlValue[], separator: HtmlValue = ''): SafeHtml {
  return new SafeHtml(TOKEN, items.map(render).join(render(separator)));
}
