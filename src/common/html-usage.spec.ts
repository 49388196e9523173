import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ts from 'typescript';

/**
 * HTML is escaped by construction only if pages cannot be built any other way: no markup in a
 * plain string or untagged template (where a value would go in unescaped), no hand-called
 * escaper, and `unsafeRaw` only where a trusted constant needs it, with a comment saying why.
 */
const SRC = path.join(__dirname, '..');
const HTML_MODULE = path.join(SRC, 'common', 'html.ts');

/** Files allowed to call unsafeRaw (inline CSS whose CSP hash is computed over it). */
const UNSAFE_RAW_FILES = ['common/look.ts', 'console/views/layout.ts', 'issuance/demo/demo.controller.ts'];

/** A start or end tag of an element these pages write. */
const MARKUP =
  /<\/?(?:!doctype|html|head|body|main|header|footer|nav|section|div|span|p|a|b|i|strong|small|code|pre|br|h[1-6]|ul|ol|li|dl|dt|dd|table|thead|tbody|tr|td|th|form|input|label|select|option|textarea|button|fieldset|legend|datalist|time|figure|figcaption|details|summary|svg|title|desc|text|rect|line|circle|polyline|img|iframe|meta|style|script|link)(?=[\s>/])/i;

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts') ? [p] : [];
  });
}

interface Finding {
  file: string;
  line: number;
  what: string;
}

function scan(file: string): Finding[] {
  const text = fs.readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const rel = path.relative(SRC, file).split(path.sep).join('/');
  const found: Finding[] = [];
  const at = (n: ts.Node, what: string) => found.push({ file: rel, line: sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1, what });
  const isHtmlTag = (n: ts.Node) => ts.isTaggedTemplateExpression(n.parent) && n.parent.tag.getText(sf) === 'html';
  const visit = (n: ts.Node): void => {
    if (ts.isCallExpression(n)) {
      const callee = n.expression.getText(sf);
      if (callee === 'escapeHtml' || callee === 'h') at(n, `${callee}() called by hand`);
      if (callee === 'unsafeRaw') {
        if (!UNSAFE_RAW_FILES.includes(rel)) at(n, 'unsafeRaw() outside the files allowed to use it');
        const line = sf.getLineAndCharacterOfPosition(n.getStart(sf)).line;
        const before = text.split('\n').slice(Math.max(0, line - 4), line + 1).join('\n');
        if (!/\/\/|\/\*/.test(before)) at(n, 'unsafeRaw() without a comment saying why it is safe');
      }
    }
    if (ts.isNoSubstitutionTemplateLiteral(n) || ts.isTemplateExpression(n)) {
      const literal = ts.isNoSubstitutionTemplateLiteral(n) ? n.text : [n.head.text, ...n.templateSpans.map((s) => s.literal.text)].join('${}');
      if (!isHtmlTag(n) && MARKUP.test(literal)) at(n, 'markup in an untagged template (use html`...`)');
    }
    if (ts.isStringLiteral(n) && MARKUP.test(n.text) && !ts.isImportDeclaration(n.parent)) at(n, 'markup in a plain string (use html`...`)');
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}

describe('pages are built with html`...` only', () => {
  const files = sourceFiles(SRC).filter((f) => f !== HTML_MODULE);

  it('finds the page modules (the scan is looking in the right place)', () => {
    const rel = files.map((f) => path.relative(SRC, f).split(path.sep).join('/'));
    for (const page of ['console/views/tenants.ts', 'auth/login/pages.ts', 'common/error-pages.ts', 'common/look.ts']) expect(rel).toContain(page);
  });

  it('no hand-called escaper, no markup outside html`...`, unsafeRaw only with a reason', () => {
    const findings = files.flatMap(scan).map((f) => `${f.file}:${f.line} ${f.what}`);
    expect(findings).toEqual([]);
  });

  it('would catch each kind of mistake', () => {
    const tmp = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'html-usage-')), 'probe.ts');
    fs.writeFileSync(
      tmp,
      [
        "import { escapeHtml, html, unsafeRaw } from '../html';",
        'export const a = (name: string) => `<p>${name}</p>`;',
        "export const b = '<tr><td>none</td></tr>';",
        'export const c = (name: string) => `<p>${escapeHtml(name)}</p>`;',
        'export const d = (css: string) => html`<style>${unsafeRaw(css)}</style>`;',
        'export const ok = (name: string) => html`<p>${name}</p>`;',
        "export const text = 'Part of the URL: /sso/<slug>';",
      ].join('\n'),
    );
    try {
      expect(scan(tmp).map((f) => `${f.line} ${f.what}`)).toEqual([
        '2 markup in an untagged template (use html`...`)',
        '3 markup in a plain string (use html`...`)',
        '4 markup in an untagged template (use html`...`)',
        '4 escapeHtml() called by hand',
        '5 unsafeRaw() outside the files allowed to use it',
        '5 unsafeRaw() without a comment saying why it is safe',
      ]);
    } finally {
      fs.unlinkSync(tmp);
    }
  });
});
