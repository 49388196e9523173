/**
 * `helm template` for the subset of Go's text/template (and Helm's functions) that
 * deploy/helm/embed-idp uses, because no helm binary can be installed here (no npm package
 * ships one without downloading it at install time, and Debian has none). The chart stays in
 * real Helm syntax; this renderer refuses, by name, anything outside the subset, so a template
 * that `helm` would read differently fails here instead of rendering something else:
 *
 * - actions `{{ pipeline }}`, `{{- … -}}` (trims the whitespace beside them, newlines too),
 *   `if` / `else` / `end`, `range $k, $v := pipeline` (a map in sorted key order, as Go does),
 *   `define "name"` (in templates/_*.tpl) and `include "name" .`;
 * - operands `.`, `.Values.a.b`, `.Release.Name`, `.Chart.AppVersion`, `$var`, "strings",
 *   numbers, true/false; pipelines `a | f b` (the piped value is the last argument, as in Go);
 * - functions include, toYaml (keys sorted and no trailing newline, as sigs.k8s.io/yaml and
 *   Helm's toYaml), nindent, indent, quote, default, not.
 *
 * `npm run deploy:manifests` writes the chart rendered with its default values to
 * deploy/kubernetes/embed-idp.yaml; test/system/helm-chart.system-spec.ts checks the two agree.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as YAML from 'yaml';

export const CHART_DIR = path.join(__dirname, '..', '..', 'deploy', 'helm', 'embed-idp');
export const MANIFESTS_FILE = path.join(__dirname, '..', '..', 'deploy', 'kubernetes', 'embed-idp.yaml');

type Node =
  | { t: 'text'; s: string }
  | { t: 'out'; expr: string }
  | { t: 'if'; expr: string; then: Node[]; else: Node[] }
  | { t: 'range'; key?: string; value?: string; expr: string; body: Node[] };

interface Scope {
  dot: unknown;
  root: unknown;
  vars: Map<string, unknown>;
}

class TemplateError extends Error {}

/** Splits into text and actions, applying the `{{-` / `-}}` trims. */
function lex(src: string, file: string): { kind: 'text' | 'action'; s: string }[] {
  const out: { kind: 'text' | 'action'; s: string }[] = [];
  let i = 0;
  let trimNext = false;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    let text = open < 0 ? src.slice(i) : src.slice(i, open);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (open < 0) {
      out.push({ kind: 'text', s: text });
      break;
    }
    const close = src.indexOf('}}', open);
    if (close < 0) throw new TemplateError(`${file}: unclosed {{`);
    let inner = src.slice(open + 2, close);
    if (inner.startsWith('-') && /\s/.test(inner[1] ?? '')) {
      text = text.replace(/\s+$/, '');
      inner = inner.slice(1);
    }
    trimNext = false;
    if (inner.endsWith('-') && /\s/.test(inner[inner.length - 2] ?? '')) {
      trimNext = true;
      inner = inner.slice(0, -1);
    }
    out.push({ kind: 'text', s: text });
    out.push({ kind: 'action', s: inner.trim() });
    i = close + 2;
  }
  return out.filter((t) => t.kind === 'action' || t.s !== '');
}

/** Parses a file: its nodes, and the templates it defines. */
function parse(src: string, file: string, defines: Map<string, Node[]>): Node[] {
  const tokens = lex(src, file);
  let pos = 0;
  const block = (stopAt: string[]): { nodes: Node[]; stop: string } => {
    const nodes: Node[] = [];
    while (pos < tokens.length) {
      const tok = tokens[pos++];
      if (tok.kind === 'text') {
        nodes.push({ t: 'text', s: tok.s });
        continue;
      }
      const a = tok.s;
      const word = a.split(/\s+/)[0];
      if (stopAt.includes(word)) return { nodes, stop: word };
      if (word === 'if') {
        const then = block(['else', 'end']);
        if (then.stop === 'else' && tokens[pos - 1].s !== 'else') throw new TemplateError(`${file}: only a plain {{ else }} is supported, not "{{ ${tokens[pos - 1].s} }}"`);
        const otherwise = then.stop === 'else' ? block(['end']).nodes : [];
        nodes.push({ t: 'if', expr: a.slice(2).trim(), then: then.nodes, else: otherwise });
      } else if (word === 'range') {
        const m = /^range\s+(?:(\$\w+)\s*(?:,\s*(\$\w+))?\s*:=\s*)?(.+)$/.exec(a);
        if (!m) throw new TemplateError(`${file}: cannot read "{{ ${a} }}"`);
        const body = block(['end']);
        nodes.push({ t: 'range', key: m[2] ? m[1] : undefined, value: m[2] ?? m[1], expr: m[3], body: body.nodes });
      } else if (word === 'define') {
        const name = /^define\s+"([^"]+)"$/.exec(a)?.[1];
        if (!name) throw new TemplateError(`${file}: cannot read "{{ ${a} }}"`);
        defines.set(name, block(['end']).nodes);
      } else if (['with', 'template', 'block', 'else', 'end', 'break', 'continue'].includes(word) || a.startsWith('/*')) {
        throw new TemplateError(`${file}: "{{ ${a} }}" is outside the subset this renderer reads (see test/support/helm-template.ts)`);
      } else {
        nodes.push({ t: 'out', expr: a });
      }
    }
    if (stopAt.length) throw new TemplateError(`${file}: missing {{ end }}`);
    return { nodes, stop: '' };
  };
  return block([]).nodes;
}

function words(cmd: string): string[] {
  const out: string[] = [];
  const re = /\s*("(?:[^"\\]|\\.)*"|[^\s"]+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(cmd))) out.push(m[1]);
  return out;
}

function splitPipes(expr: string): string[] {
  const parts: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i];
    if (c === '"' && expr[i - 1] !== '\\') quoted = !quoted;
    if (c === '|' && !quoted) {
      parts.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  parts.push(cur.trim());
  return parts;
}

function truthy(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v as object).length > 0;
  return true;
}

function field(base: unknown, pathText: string, whole: string): unknown {
  let v = base;
  for (const key of pathText.split('.').filter(Boolean)) {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) throw new TemplateError(`"${whole}": cannot read .${key} of a ${Array.isArray(v) ? 'list' : typeof v}`);
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

function toYaml(v: unknown): string {
  if (v === undefined || v === null) return 'null';
  return YAML.stringify(v, { sortMapEntries: true, lineWidth: 0 }).replace(/\n$/, '');
}

function indentLines(n: number, s: string): string {
  const pad = ' '.repeat(n);
  return s
    .split('\n')
    .map((l) => pad + l)
    .join('\n');
}

export class Chart {
  private readonly defines = new Map<string, Node[]>();
  private readonly templates: [name: string, nodes: Node[]][] = [];
  readonly meta: Record<string, unknown>;
  readonly defaults: Record<string, unknown>;

  constructor(readonly dir: string = CHART_DIR) {
    this.meta = YAML.parse(fs.readFileSync(path.join(dir, 'Chart.yaml'), 'utf8'));
    this.defaults = YAML.parse(fs.readFileSync(path.join(dir, 'values.yaml'), 'utf8'));
    const tdir = path.join(dir, 'templates');
    for (const name of fs.readdirSync(tdir).sort()) {
      const nodes = parse(fs.readFileSync(path.join(tdir, name), 'utf8'), name, this.defines);
      if (!name.startsWith('_')) this.templates.push([name, nodes]);
    }
  }

  /** `helm template <release> <chart> -f override`: the manifests as text, one `# Source:` each. */
  render(opts: { release?: string; namespace?: string; values?: Record<string, unknown> } = {}): string {
    const chartName = String(this.meta.name);
    const root = {
      Values: merge(this.defaults, opts.values ?? {}),
      Release: { Name: opts.release ?? chartName, Namespace: opts.namespace ?? 'default', Service: 'Helm', IsInstall: true, IsUpgrade: false },
      Chart: { Name: chartName, Version: this.meta.version, AppVersion: this.meta.appVersion },
    };
    const out: string[] = [];
    for (const [name, nodes] of this.templates) {
      const text = this.exec(nodes, { dot: root, root, vars: new Map() });
      // Helm drops a template that renders to whitespace only.
      for (const doc of text.split(/^---\s*$/m)) {
        if (doc.trim() === '' || doc.split('\n').every((l) => l.trim() === '' || l.trim().startsWith('#'))) continue;
        out.push(`---\n# Source: ${chartName}/templates/${name}\n${doc.replace(/^\n+/, '').replace(/\s+$/, '')}\n`);
      }
    }
    return out.join('');
  }

  /** The rendered manifests, parsed. */
  objects(opts: Parameters<Chart['render']>[0] = {}): Record<string, any>[] {
    return YAML.parseAllDocuments(this.render(opts))
      .map((d) => {
        if (d.errors.length) throw new TemplateError(`rendered YAML does not parse: ${d.errors[0].message}`);
        return d.toJS();
      })
      .filter((o) => o !== null);
  }

  private exec(nodes: Node[], scope: Scope): string {
    let out = '';
    for (const n of nodes) {
      if (n.t === 'text') out += n.s;
      else if (n.t === 'out') out += this.print(this.pipeline(n.expr, scope), n.expr);
      else if (n.t === 'if') out += this.exec(truthy(this.pipeline(n.expr, scope)) ? n.then : n.else, scope);
      else {
        const v = this.pipeline(n.expr, scope);
        if (v === undefined || v === null) continue;
        const entries: [unknown, unknown][] = Array.isArray(v)
          ? v.map((x, i) => [i, x])
          : typeof v === 'object'
            ? Object.keys(v as object)
                .sort()
                .map((k) => [k, (v as Record<string, unknown>)[k]])
            : (() => {
                throw new TemplateError(`range over a ${typeof v}: "${n.expr}"`);
              })();
        for (const [k, x] of entries) {
          const vars = new Map(scope.vars);
          if (n.key) vars.set(n.key, k);
          if (n.value) vars.set(n.value, x);
          out += this.exec(n.body, { dot: x, root: scope.root, vars });
        }
      }
    }
    return out;
  }

  private print(v: unknown, expr: string): string {
    if (v === undefined || v === null) throw new TemplateError(`"{{ ${expr} }}" has no value (helm would print "<no value>")`);
    if (typeof v === 'object') throw new TemplateError(`"{{ ${expr} }}" is a ${Array.isArray(v) ? 'list' : 'map'}: print it with toYaml`);
    return String(v);
  }

  private pipeline(expr: string, scope: Scope): unknown {
    let piped: { v: unknown } | undefined;
    for (const cmd of splitPipes(expr)) {
      const [head, ...rest] = words(cmd);
      if (!head) throw new TemplateError(`empty command in "${expr}"`);
      const args = rest.map((w) => this.operand(w, scope, expr));
      if (piped) args.push(piped.v);
      piped = { v: FUNCTIONS[head] ? FUNCTIONS[head].call(this, args, scope, expr) : this.single(head, args, scope, expr) };
    }
    return piped!.v;
  }

  private single(head: string, args: unknown[], scope: Scope, expr: string): unknown {
    if (args.length) throw new TemplateError(`"${head}" is not a function this renderer knows (in "${expr}")`);
    return this.operand(head, scope, expr);
  }

  private operand(w: string, scope: Scope, expr: string): unknown {
    if (w.startsWith('"')) return JSON.parse(w);
    if (/^-?\d+$/.test(w)) return Number(w);
    if (w === 'true' || w === 'false') return w === 'true';
    if (w === '.') return scope.dot;
    if (w.startsWith('.')) return field(scope.dot, w, expr);
    if (w === '$' || w.startsWith('$.')) return field(scope.root, w.slice(1), expr);
    if (w.startsWith('$')) {
      const [name, ...rest] = w.split('.');
      if (!scope.vars.has(name)) throw new TemplateError(`undefined variable ${name} in "${expr}"`);
      return field(scope.vars.get(name), rest.join('.'), expr);
    }
    throw new TemplateError(`"${w}" is not an operand this renderer knows (in "${expr}")`);
  }

  /** Used by `include`. */
  includeTemplate(name: string, dot: unknown, scope: Scope): string {
    const nodes = this.defines.get(name);
    if (!nodes) throw new TemplateError(`include of an undefined template "${name}"`);
    return this.exec(nodes, { dot, root: scope.root, vars: new Map() });
  }
}

type Fn = (this: Chart, args: unknown[], scope: Scope, expr: string) => unknown;

function arity(name: string, args: unknown[], n: number, expr: string): void {
  if (args.length !== n) throw new TemplateError(`${name} takes ${n} argument(s), got ${args.length} in "${expr}"`);
}

const FUNCTIONS: Record<string, Fn> = {
  include(args, scope, expr) {
    arity('include', args, 2, expr);
    return this.includeTemplate(String(args[0]), args[1], scope);
  },
  toYaml: (args, _s, expr) => (arity('toYaml', args, 1, expr), toYaml(args[0])),
  nindent: (args, _s, expr) => (arity('nindent', args, 2, expr), '\n' + indentLines(Number(args[0]), String(args[1]))),
  indent: (args, _s, expr) => (arity('indent', args, 2, expr), indentLines(Number(args[0]), String(args[1]))),
  // Sprig's quote: %q of each argument's string form (nil gives nothing).
  quote: (args) => args.filter((a) => a !== undefined && a !== null).map((a) => JSON.stringify(String(a))).join(' '),
  default: (args, _s, expr) => (arity('default', args, 2, expr), truthy(args[1]) ? args[1] : args[0]),
  not: (args, _s, expr) => (arity('not', args, 1, expr), !truthy(args[0])),
};

/** Helm's values merge: maps merge key by key, anything else (lists too) replaces. */
export function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = b && v && typeof b === 'object' && typeof v === 'object' && !Array.isArray(b) && !Array.isArray(v) ? merge(b as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

/** What deploy/kubernetes/embed-idp.yaml holds: the chart with its defaults, release "embed-idp". */
export function defaultManifests(): string {
  return (
    '# Rendered from deploy/helm/embed-idp with its default values (release "embed-idp"):\n' +
    '# `npm run deploy:manifests` rewrites it; test/system/helm-chart.system-spec.ts checks it.\n' +
    new Chart().render({ release: 'embed-idp' })
  );
}

if (require.main === module) {
  fs.mkdirSync(path.dirname(MANIFESTS_FILE), { recursive: true });
  fs.writeFileSync(MANIFESTS_FILE, defaultManifests());
  console.log(`wrote ${path.relative(process.cwd(), MANIFESTS_FILE)}`);
}
