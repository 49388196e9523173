import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { KNOWN_ENV_VARS, parseEnv } from '../../src/config/configuration';

/**
 * docker-compose.yml is the deployment most operators copy: every variable it sets must be
 * one the service knows, and the values it produces must pass the service's own validation.
 */
const ROOT = path.join(__dirname, '..', '..');

interface ComposeService {
  build?: string | { context?: string; dockerfile?: string };
  image?: string;
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | number)[];
  depends_on?: Record<string, unknown> | string[];
}

/** Compose's ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, ${VAR:+alt}, $VAR and $$. */
function interpolate(value: string, env: Record<string, string | undefined>): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^{}]|\{[^{}]*\})*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (all, name, op, arg, bare) => {
    if (all === '$$') return '$';
    if (bare) return env[bare] ?? '';
    const v = env[name];
    const unsetOrEmpty = v === undefined || v === '';
    switch (op) {
      case ':-':
        return unsetOrEmpty ? interpolate(arg, env) : v!;
      case '-':
        return v === undefined ? interpolate(arg, env) : v;
      case ':?':
        if (unsetOrEmpty) throw new Error(`required variable ${name} is missing: ${arg}`);
        return v!;
      case '?':
        if (v === undefined) throw new Error(`required variable ${name} is missing: ${arg}`);
        return v;
      case ':+':
        return unsetOrEmpty ? '' : interpolate(arg, env);
      default:
        return v ?? '';
    }
  });
}

function environmentOf(service: ComposeService): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((line) => [line.split('=')[0], line.includes('=') ? line.slice(line.indexOf('=') + 1) : '']));
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

describe('docker-compose.yml', () => {
  const compose = parse(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, ComposeService> };
  const [serviceName, service] = Object.entries(compose.services).find(([, s]) => s.build !== undefined) ?? [];
  const environment = service ? environmentOf(service) : {};

  it('builds the service from this repository', () => {
    expect(serviceName).toBe('embed-idp');
  });

  it('sets only variables the service knows', () => {
    const unknown = Object.keys(environment).filter((k) => !(KNOWN_ENV_VARS as readonly string[]).includes(k));
    expect(Object.keys(environment).length).toBeGreaterThan(0);
    expect(unknown).toEqual([]);
  });

  const samples = {
    POSTGRES_PASSWORD: randomBytes(12).toString('hex'),
    SECRETS_KEY: randomBytes(32).toString('hex'),
    PUBLIC_URL: 'https://idp.example.com',
    BOOTSTRAP_ADMIN_KEY: randomBytes(24).toString('base64url'),
  };

  it.each([
    ['every variable set', samples],
    ['only the required ones set (defaults used)', { POSTGRES_PASSWORD: samples.POSTGRES_PASSWORD, SECRETS_KEY: samples.SECRETS_KEY }],
  ])('produces values the service accepts: %s', (_label, shellEnv) => {
    const values = Object.fromEntries(Object.entries(environment).map(([k, v]) => [k, interpolate(v, shellEnv)]));
    const config = parseEnv(values);
    expect(config.app.nodeEnv).toBe('production');
    expect(config.secrets.key.toString('hex')).toBe(samples.SECRETS_KEY);
    // The database host is the compose service the app waits for.
    expect(Object.keys(compose.services)).toContain(new URL(config.database.url!).hostname);
    const dependsOn = Array.isArray(service!.depends_on) ? service!.depends_on : Object.keys(service!.depends_on ?? {});
    expect(dependsOn).toContain(new URL(config.database.url!).hostname);
    // The published port is the one the service listens on.
    expect((service!.ports ?? []).map(String)).toContainEqual(expect.stringMatching(new RegExp(`:${config.app.port}$`)));
  });

  it('a production start without DATABASE_URL is refused by the validator (the image has no embedded Postgres)', () => {
    const values = Object.fromEntries(Object.entries(environment).map(([k, v]) => [k, interpolate(v, samples)]));
    expect(() => parseEnv({ ...values, DATABASE_URL: '' })).toThrow(/DATABASE_URL: is required in production/);
    // Optional variables compose passes empty are treated as unset (metrics off, no previous key).
    const config = parseEnv({ ...values, METRICS_TOKEN: '', SECRETS_KEY_PREVIOUS: '' });
    expect(config.metrics.token).toBeUndefined();
    expect(config.secrets.previousKey).toBeUndefined();
  });

  it('refuses to start without the secrets key (compose fails before the container does)', () => {
    expect(() => interpolate(environment.SECRETS_KEY, { POSTGRES_PASSWORD: 'x' })).toThrow(/SECRETS_KEY/);
  });

  describe('the Dockerfile it builds', () => {
    const build = service?.build;
    const context = path.join(ROOT, typeof build === 'string' ? build : (build?.context ?? '.'));
    const dockerfile = path.join(context, (typeof build === 'object' && build.dockerfile) || 'Dockerfile');

    it('exists', () => {
      expect(fs.existsSync(dockerfile)).toBe(true);
    });

    it('runs what `nest build` produces, as a non-root user, on the port compose publishes', () => {
      const text = fs.readFileSync(dockerfile, 'utf8');
      const nestCli = JSON.parse(fs.readFileSync(path.join(ROOT, 'nest-cli.json'), 'utf8')) as { entryFile?: string };
      const tsconfig = JSON.parse(fs.readFileSync(path.join(ROOT, 'tsconfig.json'), 'utf8')) as { compilerOptions: { outDir: string } };
      const built = path.posix.join(tsconfig.compilerOptions.outDir.replace(/^\.\//, ''), `${nestCli.entryFile ?? 'main'}.js`);
      const cmd = /^CMD\s+(\[.*\])\s*$/m.exec(text);
      expect(cmd).not.toBeNull();
      expect(JSON.parse(cmd![1])).toEqual(['node', built]);
      expect(/^USER\s+(\S+)\s*$/m.exec(text)?.[1]).not.toMatch(/^(root|0)$/);
      expect(/^EXPOSE\s+(\d+)/m.exec(text)?.[1]).toBe(environment.PORT);
    });

    it('keeps the local database, its key and host node_modules out of the build context', () => {
      const ignore = fs.readFileSync(path.join(context, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
      expect(ignore).toEqual(expect.arrayContaining(['.data', 'node_modules', '.git']));
    });
  });
});
