import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The folders are the architecture: each table has one
 * owning folder — the one declaring its entity — and no other folder touches it through a
 * TypeORM repository or raw SQL; it calls the owner's service, or embeds a SQL fragment the
 * owner exports (`<x>.sql.ts`) for a one-statement hot path. And the folders import each other
 * down the layers the README declares (lowest first: products, the product definitions, below
 * the catalog that stores them, below issuance that uses both), never up, and so without a
 * cycle.
 *
 * Pure source scans: no database, no Nest application (unit project).
 */

const SRC = __dirname;

interface SourceFile {
  file: string;
  folder: string;
  text: string;
}

function walk(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

/** The product sources (specs excluded) below a folder of src/, with comments removed. */
function sources(): SourceFile[] {
  return walk(SRC)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts') && !f.endsWith('.d.ts'))
    .map((f) => ({ file: path.relative(SRC, f), folder: folderOf(path.relative(SRC, f)), text: withoutComments(fs.readFileSync(f, 'utf8')) }))
    .filter((s) => s.folder !== '');
}

/** src/<folder>/...: the folder; '' for the files at the top of src/ (main.ts, app.module.ts: the wiring). */
function folderOf(relative: string): string {
  const parts = relative.split(path.sep);
  return parts.length > 1 ? parts[0] : '';
}

function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\w])\/\/.*$/gm, '$1');
}

/** Table -> owning folder and entity class -> owning folder, from the @Entity declarations. */
function ownership(files: SourceFile[]): { tables: Map<string, string>; entities: Map<string, string> } {
  const tables = new Map<string, string>();
  const entities = new Map<string, string>();
  for (const f of files.filter((s) => s.file.endsWith('.entity.ts'))) {
    for (const m of f.text.matchAll(/@Entity\(\{\s*name:\s*'([a-z_]+)'[^)]*\)\s*(?:@[\s\S]*?)?export class (\w+)/g)) {
      tables.set(m[1], f.folder);
      entities.set(m[2], f.folder);
    }
  }
  return { tables, entities };
}

/** Every place a file touches a table another folder owns. */
function foreignTableUses(files: SourceFile[]): string[] {
  const { tables, entities } = ownership(files);
  const found: string[] = [];
  const at = (f: SourceFile, index: number) => `${f.file}:${f.text.slice(0, index).split('\n').length}`;
  for (const f of files) {
    // The ENTITIES list registers every entity with the one DataSource; it reads no table.
    if (f.folder === 'database') continue;
    for (const [table, owner] of tables) {
      if (owner === f.folder) continue;
      const sql = new RegExp(`\\b(?:from|join|into|update|table)\\s+"?${table}"?(?![\\w.(])`, 'gi');
      for (const m of f.text.matchAll(sql)) found.push(`${at(f, m.index!)} SQL on ${table} (owned by ${owner}/): ${m[0]}`);
    }
    for (const [entity, owner] of entities) {
      if (owner === f.folder) continue;
      const orm = new RegExp(
        `(?:getRepository|InjectRepository|getTreeRepository|\\.(?:find|findOne|findOneBy|findBy|findOneOrFail|exists|existsBy|count|insert|update|upsert|delete|save|remove|createQueryBuilder|from|into))\\(\\s*${entity}\\b` +
          `|forFeature\\(\\[[^\\]]*\\b${entity}\\b`,
        'g',
      );
      for (const m of f.text.matchAll(orm)) found.push(`${at(f, m.index!)} repository of ${entity} (owned by ${owner}/): ${m[0]}`);
    }
  }
  return found;
}

/**
 * The command-line entry points (package.json scripts, e.g. `npm run rotate-secrets`): like
 * src/main.ts they wire modules together and nothing imports them, so their imports are not
 * a dependency of the folder they sit in.
 */
function entryPoints(): Set<string> {
  const pkg = JSON.parse(fs.readFileSync(path.join(SRC, '..', 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  return new Set(Object.values(pkg.scripts).flatMap((script) => [...script.matchAll(/\bsrc\/(\S+\.ts)\b/g)].map((m) => m[1].split('/').join(path.sep))));
}

/** The relative imports of a file, resolved to paths relative to src/. */
function importsOf(f: SourceFile): string[] {
  return [...f.text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\brequire\(\s*|^import\s+)'(\.{1,2}\/[^']+)'/gm)].map((m) =>
    path.relative(SRC, path.resolve(SRC, path.dirname(f.file), m[1])),
  );
}

/** folder -> the folders it imports (relative imports, types included), with the importing files. */
function folderGraph(files: SourceFile[], entries: Set<string> = new Set()): Map<string, Map<string, string[]>> {
  const graph = new Map<string, Map<string, string[]>>();
  for (const f of files) {
    if (entries.has(f.file)) continue;
    const edges = graph.get(f.folder) ?? new Map<string, string[]>();
    graph.set(f.folder, edges);
    for (const target of importsOf(f)) {
      const to = folderOf(target);
      if (to === '' || to === f.folder || target.startsWith('..')) continue;
      edges.set(to, [...(edges.get(to) ?? []), f.file]);
    }
  }
  return graph;
}

const README = path.join(SRC, '..', 'README.md');
/** The sentence of the README's Development section that declares the layers. */
const LAYERS_SENTENCE = /The folders form layers, each\s+importing only those below it:\s*([^(.]*)/;
/** Folders that wire the others together (like main.ts), in no layer: the README names them. */
const WIRING = ['database'];

/**
 * The layer order the README declares, lowest first: `a` < `b`, `c` < `d` (`b` and `c` side by
 * side). Read from the README, so the order is written once and the two cannot drift apart.
 */
function declaredLayers(readme: string = fs.readFileSync(README, 'utf8')): string[][] {
  const m = LAYERS_SENTENCE.exec(readme);
  if (!m) throw new Error(`README.md does not declare the layers ("The folders form layers, each importing only those below it: ...")`);
  return m[1].split('<').map((layer) => [...layer.matchAll(/`([a-z-]+)`/g)].map((n) => n[1]));
}

/**
 * Every import that does not point down the declared layers (to a folder of the same layer or
 * above), and every folder the order does not place, with the files making each edge.
 */
function layerViolations(graph: Map<string, Map<string, string[]>>, layers: string[][]): string[] {
  const rank = new Map(layers.flatMap((layer, i) => layer.map((folder) => [folder, i] as const)));
  const found: string[] = [];
  for (const folder of graph.keys()) if (!rank.has(folder) && !WIRING.includes(folder)) found.push(`${folder}/ is in no layer of the README's order`);
  for (const [from, edges] of graph) {
    if (!rank.has(from)) continue;
    for (const [to, files] of edges) {
      if (rank.has(to) && rank.get(to)! >= rank.get(from)!) found.push(`${from} -> ${to} points up the layers (${to} is not below ${from}): ${[...new Set(files)].join(', ')}`);
    }
  }
  return found;
}

/** The strongly connected components with more than one folder (Tarjan). */
function cycles(graph: Map<string, Map<string, string[]>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

/** The edges inside a cycle, each with the files making it: what to look at to break it. */
function describe_(graph: Map<string, Map<string, string[]>>, component: string[]): string {
  const lines: string[] = [component.join(' <-> ')];
  for (const from of component) {
    for (const [to, files] of graph.get(from) ?? []) {
      if (component.includes(to)) lines.push(`  ${from} -> ${to}: ${[...new Set(files)].join(', ')}`);
    }
  }
  return lines.join('\n');
}

describe('module boundaries', () => {
  const files = sources();

  it('finds the tables and the folders (the scan itself works)', () => {
    const { tables } = ownership(files);
    expect(tables.get('audit_events')).toBe('audit');
    expect(tables.get('tenant_target_access')).toBe('catalog');
    expect(tables.get('sessions')).toBe('auth');
    expect(tables.size).toBeGreaterThanOrEqual(18);
    expect(folderGraph(files).get('admin')?.has('auth')).toBe(true);
  });

  it('detects a foreign table use and a cycle when there is one', () => {
    const owners: SourceFile[] = [
      { file: 'a/a.entity.ts', folder: 'a', text: "@Entity({ name: 'alphas' })\nexport class Alpha {}" },
      { file: 'b/b.entity.ts', folder: 'b', text: "@Entity({ name: 'betas' })\nexport class Beta {}" },
    ];
    const offender: SourceFile = {
      file: 'b/b.service.ts',
      folder: 'b',
      text: "import { Alpha } from '../a/a.entity';\nm.query(`UPDATE alphas SET x = 1`); m.getRepository(Alpha); m.query(`SELECT * FROM betas`)",
    };
    expect(foreignTableUses([...owners, offender])).toEqual([
      'b/b.service.ts:2 SQL on alphas (owned by a/): UPDATE alphas',
      'b/b.service.ts:2 repository of Alpha (owned by a/): getRepository(Alpha',
    ]);
    const back: SourceFile = { file: 'a/a.service.ts', folder: 'a', text: "import { x } from '../b/b.service';" };
    expect(cycles(folderGraph([...owners, offender, back]))).toEqual([['a', 'b']]);
  });

  it('no folder touches a table another folder owns (repository or SQL): it calls the owner', () => {
    expect(foreignTableUses(files)).toEqual([]);
  });

  it("outside entity files (relations), another folder's entity is imported as a type only", () => {
    const valueImports = files
      .filter((f) => !f.file.endsWith('.entity.ts') && f.folder !== 'database')
      .flatMap((f) =>
        [...f.text.matchAll(/^import\s+(?!type\b)[^;]*?from\s+'(\.{1,2}\/[^']+\.entity)'/gm)]
          .map((m) => path.relative(SRC, path.resolve(SRC, path.dirname(f.file), m[1])))
          .filter((target) => folderOf(target) !== f.folder)
          .map((target) => `${f.file} imports ${target}`),
      );
    expect(valueImports).toEqual([]);
  });

  it('the command-line entry points are imported by nothing (so they may import any folder)', () => {
    const entries = entryPoints();
    expect([...entries]).toContain(path.join('crypto', 'rotate-secrets.ts'));
    const importers = files.filter((f) => importsOf(f).some((target) => entries.has(`${target}.ts`)));
    expect(importers.map((f) => f.file)).toEqual([]);
  });

  it('reads the layer order from the README and detects an upward import', () => {
    const layers = declaredLayers();
    expect(layers[0]).toEqual(['config']);
    expect(layers.findIndex((l) => l.includes('products'))).toBeLessThan(layers.findIndex((l) => l.includes('catalog')));
    expect(layers.findIndex((l) => l.includes('catalog'))).toBeLessThan(layers.findIndex((l) => l.includes('issuance')));
    expect(declaredLayers('The folders form layers, each importing only those below it: `a` < `b`, `c` < `d` (`database` wires them).')).toEqual([['a'], ['b', 'c'], ['d']]);
    const files: SourceFile[] = [
      { file: 'a/x.ts', folder: 'a', text: "import { y } from '../b/y';" },
      { file: 'b/y.ts', folder: 'b', text: "import { c } from '../c/c';" },
      { file: 'c/c.ts', folder: 'c', text: '' },
      { file: 'e/e.ts', folder: 'e', text: '' },
    ];
    expect(layerViolations(folderGraph(files), [['a'], ['b', 'c'], ['d']])).toEqual([
      'e/ is in no layer of the README\'s order',
      'a -> b points up the layers (b is not below a): a/x.ts',
      'b -> c points up the layers (c is not below b): b/y.ts',
    ]);
  });

  it('every import points down the layers the README declares (products < catalog < issuance < admin < console)', () => {
    expect(layerViolations(folderGraph(files, entryPoints()), declaredLayers())).toEqual([]);
  });

  it('the folders of src/ import each other without a cycle', () => {
    const graph = folderGraph(files, entryPoints());
    expect(cycles(graph).map((c) => describe_(graph, c))).toEqual([]);
  });
});
