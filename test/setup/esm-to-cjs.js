/**
 * Jest transform for the ES-module-only packages in node_modules (NestJS 12, jose 6, ...).
 * Node itself loads them from our CommonJS code through require(esm), but Jest runs every
 * module in its own registry and only learned require(esm) on Node >= 24.9 (it needs
 * vm.SourceTextModule#hasAsyncGraph), so on Node 20 and 22 they are rewritten to CommonJS
 * here. TypeScript's transpiler does the rewrite (no type checking). `import.meta` has no
 * CommonJS form: a module that rebuilds `require`, `__filename` or `__dirname` from it gets
 * the CommonJS bindings of the same name instead, and any other use maps to the file's path.
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
