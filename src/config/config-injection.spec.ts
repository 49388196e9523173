import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * a service injects the config namespace it uses (`@InjectConfig('session')`),
 * never the whole configuration — so a reader sees from the constructor which settings a class
 * depends on, and the sealing key (secrets.key) reaches only the classes that inject 'secrets'.
 *
 * The whole view (APP_CONFIG) is for these files only:
 * - config.module.ts defines it and derives the namespace providers from it;
 * - main.ts needs the port, shutdown grace and the startup summary (app, database, metrics).
 */
const ALLOWED = ['config/config.module.ts', 'main.ts'];

/** How a file can get the whole configuration from Nest's container. */
const WHOLE_CONFIG = [
  { rule: 'APP_CONFIG', pattern: /\bAPP_CONFIG\b/ },
  // @nestjs/config's service hands out every namespace by name.
  { rule: 'ConfigService', pattern: /\bConfigService\b/ },
  { rule: 'InjectConfig() without a namespace', pattern: /\bInjectConfig\(\s*\)/ },
];

/** Comments may name APP_CONFIG (explaining why not to use it) without injecting it. */
function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

function wholeConfigUses(source: string): string[] {
  const code = withoutComments(source);
  return WHOLE_CONFIG.filter(({ pattern }) => pattern.test(code)).map(({ rule }) => rule);
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(file);
    return /\.ts$/.test(entry.name) && !/\.spec\.ts$/.test(entry.name) ? [file] : [];
  });
}

describe('config injection', () => {
  const SRC = path.join(__dirname, '..');

  it.each([
    ['constructor(@Inject(APP_CONFIG) config: AppConfig) {}', ['APP_CONFIG']],
    ["TypeOrmModule.forRootAsync({ inject: [APP_CONFIG], useFactory: (c: AppConfig) => c.database })", ['APP_CONFIG']],
    ['const config = app.get<AppConfig>(APP_CONFIG);', ['APP_CONFIG']],
    ["constructor(private readonly c: ConfigService) { c.get('session'); }", ['ConfigService']],
    ['constructor(@InjectConfig() private readonly config: AppConfig) {}', ['InjectConfig() without a namespace']],
    ["constructor(@InjectConfig('session') private readonly session: Config<'session'>) {}", []],
    ['// never inject APP_CONFIG here\nconst x = 1;', []],
    ['/** APP_CONFIG is for main.ts only */\nconst x = 1;', []],
  ])('detects whole-config injection in %j', (source, expected) => {
    expect(wholeConfigUses(source)).toEqual(expected);
  });

  it('no file under src/ outside the allowed list injects the whole config', () => {
    const offenders = sourceFiles(SRC)
      .map((file) => ({ file: path.relative(SRC, file).split(path.sep).join('/'), uses: wholeConfigUses(fs.readFileSync(file, 'utf8')) }))
      .filter(({ file, uses }) => uses.length > 0 && !ALLOWED.includes(file))
      .map(({ file, uses }) => `${file}: ${uses.join(', ')}`);
    expect(offenders).toEqual([]);
  });

  it('the allowed files exist (a rename must update the list, not silently widen it)', () => {
    for (const file of ALLOWED) expect(fs.existsSync(path.join(SRC, file))).toBe(true);
  });
});
