/**
 * Jest transform for the ES-module-only packages in node_modules (NestJS 12, jose 6, ...).
 * Node itself loads them from our CommonJS code through require(esm), but Jest runs every
 * module in its own registry, and its require(esm) needs vm.SourceTextModule#hasAsyncGraph:
 * Node >= 24.9 started with --experimental-vm-modules only. Everywhere else (Node 20, 22, and
 * 24 unflagged) they are rewritten to CommonJS here, by TypeScript's transpiler (no type
 * checking). `import.meta` has no CommonJS form: a module that rebuilds `require`,
 * `__filename` or `__dirname` from it gets the CommonJS binding of the same name instead;
 * `import.meta.url`, `.filename`, `.dirname` and `.resolve()` map to the file's own path and
 * to require.resolve. A package with top-level await could not be rewritten: Jest would then
 * fail loudly on it, never run it wrongly.
 */
const { createHash } = require('node:crypto');
const { readFileSync } = require('node:fs');
const ts = require('typescript');

const SELF = readFileSync(__filename, 'utf8') + ts.version;

const REBUILT_CJS_BINDING = /^\s*(?:const|let|var)\s+(?:require|__filename|__dirname)\s*=[^;\n]*\bimport\.meta\b[^;\n]*;?$/gm;
const IMPORT_META = [
  [/\bimport\.meta\.url\b/g, "require('node:url').pathToFileURL(__filename).href"],
  [/\bimport\.meta\.filename\b/g, '__filename'],
  [/\bimport\.meta\.dirname\b/g, '__dirname'],
  [/\bimport\.meta\.resolve\(/g, "((s) => require('node:url').pathToFileURL(require.resolve(s)).href)("],
];

module.exports = {
  getCacheKey(source, filename) {
    return createHash('sha256').update(SELF).update(filename).update(source).digest('hex');
  },
  process(source, filename) {
    let code = source.replace(REBUILT_CJS_BINDING, '');
    for (const [pattern, replacement] of IMPORT_META) code = code.replace(pattern, replacement);
    const out = ts.transpileModule(code, {
      fileName: filename,
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        allowJs: true,
        esModuleInterop: true,
        sourceMap: false,
        inlineSourceMap: true,
      },
    });
    return { code: out.outputText };
  },
};
