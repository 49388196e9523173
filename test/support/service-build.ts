import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

const ROOT = path.resolve(__dirname, '..', '..');
const SOURCES = ['src', 'migrations'];

/**
 * The service compiled to JavaScript once, for specs that start it as its own process
 * (rolling restart, hand-off replay race). `node -r ts-node/register` compiles every file again
 * in every process: four such start-ups took minutes under the full suite on the 2-core test
 * machine, a compiled start-up takes seconds.
 *
 * Each file is transpiled alone (`isolatedModules` is on in tsconfig.json, so that is what the
 * type-checked build emits too; the suite type-checks separately), into
 * `test-output/service-build/<hash of the sources>/`: inside the repository so `node_modules`
 * resolves, keyed by content so a changed file gets a new build and parallel Jest workers
 * share one. Written to a temporary directory and renamed, so a reader never sees half a build.
 */
export function serviceBuild(): string {
  const files = SOURCES.flatMap((dir) => listTs(path.join(ROOT, dir))).sort();
  const hash = createHash('sha256');
  for (const f of files) hash.update(path.relative(ROOT, f)).update('\0').update(fs.readFileSync(f)).update('\0');
  const outRoot = path.join(ROOT, 'test-output', 'service-build');
  const out = path.join(outRoot, hash.digest('hex').slice(0, 16));
  const main = path.join(out, 'src', 'main.js');
  if (fs.existsSync(main)) return main;

  fs.mkdirSync(outRoot, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(outRoot, 'tmp-'));
  transpileTree(ROOT, files, tmp);
  try {
    fs.renameSync(tmp, out);
  } catch {
    // Another worker finished the same build first: use theirs.
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  // Older builds (other sources) are no longer needed.
  for (const old of fs.readdirSync(outRoot)) {
    if (old !== path.basename(out) && !old.startsWith('tmp-')) fs.rmSync(path.join(outRoot, old), { recursive: true, force: true });
  }
  return main;
}

/**
 * Transpiles `files` (under `root`) into `out`, file by file, with `root`'s tsconfig.json.
 * Also used on another release's sources (test/system/rolling-upgrade.system-spec.ts).
 */
export function transpileTree(root: string, files: string[], out: string): void {
  const { options } = ts.parseJsonConfigFileContent(ts.readConfigFile(path.join(root, 'tsconfig.json'), ts.sys.readFile).config, ts.sys, root);
  const compilerOptions: ts.CompilerOptions = { ...options, sourceMap: false, inlineSourceMap: false, declaration: false, noEmit: false };
  for (const f of files) {
    const { outputText } = ts.transpileModule(fs.readFileSync(f, 'utf8'), { compilerOptions, fileName: f });
    const target = path.join(out, path.relative(root, f)).replace(/\.ts$/, '.js');
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, outputText);
  }
}

export function listTs(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return listTs(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}
