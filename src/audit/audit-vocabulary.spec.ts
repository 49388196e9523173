import * as fs from 'node:fs';
import * as path from 'node:path';
import { AUDIT_EVENT_TYPES, REFUSAL_REASONS, reasonInWords } from './audit-vocabulary';

function walk(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

const SOURCES = walk(path.join(__dirname, '..'))
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'))
  .map((f) => fs.readFileSync(f, 'utf8'));

describe('audit vocabulary', () => {
  it('lists every event type the sources record (the console offers them as a choice)', () => {
    const recorded = new Set<string>();
    for (const text of SOURCES) {
      for (const m of text.matchAll(/type: '([a-z_]+(?:\.[a-z_]+)+)'/g)) recorded.add(m[1]);
      for (const m of text.matchAll(/'([a-z_]+\.[a-z_]+)' : '([a-z_]+\.[a-z_]+)'/g)) recorded.add(m[1]).add(m[2]);
    }
    // `${flow}.denied` for each SSO flow.
    const flows = /export type SsoFlow = ([^;]+);/.exec(SOURCES.join('\n'))![1].match(/'([a-z]+)'/g)!.map((s) => s.slice(1, -1));
    for (const f of flows) recorded.add(`${f}.denied`);
    expect(recorded.size).toBeGreaterThan(40);
    expect([...recorded].filter((t) => !(t in AUDIT_EVENT_TYPES)).sort()).toEqual([]);
  });

  it('words the refusal codes the sources use', () => {
    const used = new Set<string>();
    for (const text of SOURCES) for (const m of text.matchAll(/reason(?: =|:) '([a-z_]+)'/g)) used.add(m[1]);
    expect(used.size).toBeGreaterThan(20);
    expect([...used].filter((r) => !(r in REFUSAL_REASONS)).sort()).toEqual([]);
  });

  it('falls back to the code, spaced, and says when there is none', () => {
    expect(reasonInWords('no_access')).toBe('no access');
    expect(reasonInWords('brand_new_code')).toBe('brand new code');
    expect(reasonInWords(undefined)).toBe('unspecified');
  });
});
