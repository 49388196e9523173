import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * jose signs and verifies at runtime; jsonwebtoken is the tests' independent verifier (the BI
 * fakes check our tokens with it, so a mistake shared with the signing library cannot pass
 * unseen). So jsonwebtoken (and @nestjs/jwt, built on it) never ships: no import from the
 * service's sources, and a dev dependency only.
 */
const ROOT = path.join(__dirname, '..');
const TEST_ONLY = ['jsonwebtoken', '@nestjs/jwt'];

function walk(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

/** What the production build compiles (tsconfig.build.json: src/ and migrations/, specs excluded). */
const shipped = () =>
  ['src', 'migrations'].flatMap((d) => walk(path.join(ROOT, d))).filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts') && !f.endsWith('.d.ts'));

export function importsOf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm)) out.push(m[1]);
  return out;
}

describe('signing libraries', () => {
  it('finds the imports it looks for (so the scan below can fail)', () => {
    expect(importsOf(`import jwt from 'jsonwebtoken';\nconst j = require("jsonwebtoken");\nimport 'x';\nconst k = await import('@nestjs/jwt');`)).toEqual(['jsonwebtoken', 'jsonwebtoken', 'x', '@nestjs/jwt']);
  });

  it('no shipped source imports a test-only JWT library', () => {
    const found = shipped().flatMap((f) => importsOf(fs.readFileSync(f, 'utf8')).filter((i) => TEST_ONLY.some((n) => i === n || i.startsWith(`${n}/`))).map((i) => `${path.relative(ROOT, f)}: ${i}`));
    expect(found).toEqual([]);
  });

  it('jsonwebtoken is a dev dependency only; jose a runtime one', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    for (const n of TEST_ONLY) expect(Object.keys(pkg.dependencies)).not.toContain(n);
    expect(Object.keys(pkg.devDependencies)).toContain('jsonwebtoken');
    expect(Object.keys(pkg.dependencies)).toContain('jose');
  });
});
