import { randomBytes } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { SecretBox } from '../../src/crypto/secret-box';
import { freePort } from '../setup/global-setup';
import { createDatabase, dropDatabase, testServerUrl } from '../setup/test-db';

/**
 * Start-up failures an operator meets on the embedded default say the cause and the fix in one
 * line (they used to print `ERROR [ExceptionHandler] undefined`), and a start from a terminal
 * prints a short summary instead of ~95 JSON lines.
 */
const ROOT = path.resolve(__dirname, '..', '..');

function run(env: NodeJS.ProcessEnv, timeoutMs = 90_000): Promise<{ code: number | null; output: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/main.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'development', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output, ms: Date.now() - started });
    });
  });
}

/** The whole output of a failed start: this one line, on stderr, no stack, no colour codes. */
const failure = (line: string) => `embed-idp failed to start: ${line}\n`;
/** The checks run before the application loads: the answer comes in seconds (loaded machine: generous). */
const FAST_MS = 15_000;

describe('start-up failures of the embedded Postgres', () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'embed-idp-fail-'));
    fs.chmodSync(d, 0o755);
    dirs.push(d);
    return d;
  };
  afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('the embedded port taken: names the port and EMBEDDED_PG_PORT / DATABASE_URL', async () => {
    const blocker = net.createServer();
    const port = await freePort();
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', () => r()));
    try {
      const { code, output, ms } = await run({ PORT: String(await freePort()), DATA_DIR: tmp(), EMBEDDED_PG_PORT: String(port) });
      expect(output).toBe(
        failure(
          `The embedded Postgres could not start: port ${port} on 127.0.0.1 is already in use (another embed-idp or another Postgres). ` +
            'Stop what uses it, or set EMBEDDED_PG_PORT to a free port, or set DATABASE_URL to use your own Postgres.',
        ),
      );
      expect(code).toBe(1);
      expect(ms).toBeLessThan(FAST_MS);
    } finally {
      blocker.close();
    }
  }, 120_000);

  it('a Postgres left running on the data directory (a killed run): names its PID and how to stop it', async () => {
    const dataDir = tmp();
    const pidFile = path.join(dataDir, 'postgres', 'postmaster.pid');
    // A run killed with SIGKILL: its Postgres keeps running.
    const port = await freePort();
    const first = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/main.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'development', PORT: String(port), DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()) },
      stdio: 'ignore',
    });
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline && !(await fetch(`http://127.0.0.1:${port}/health/ready`).then((r) => r.ok, () => false))) await new Promise((r) => setTimeout(r, 300));
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0].trim());
    try {
      const { code, output } = await run({ PORT: String(await freePort()), DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()) });
      expect(output).toBe(
        failure(
          `The embedded Postgres could not start: another Postgres (PID ${pid}) is still running on its data directory ${path.join(dataDir, 'postgres')}, ` +
            `left behind by an embed-idp that was killed (no running embed-idp owns it). Stop it (kill ${pid}) and start again, or run this instance with another DATA_DIR.`,
        ),
      );
      expect(code).toBe(1);
    } finally {
      process.kill(pid, 'SIGTERM'); // the Postgres this test left behind, by its id
      for (let i = 0; i < 100 && fs.existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 100));
    }
  }, 120_000);

  it('a data directory in use by a running embed-idp: says so, and does not advise killing it', async () => {
    const dataDir = tmp();
    const port = await freePort();
    const first = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/main.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'development', PORT: String(port), DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()) },
      stdio: 'ignore',
    });
    const exited = new Promise((r) => first.once('exit', r));
    try {
      const deadline = Date.now() + 90_000;
      while (Date.now() < deadline && !(await fetch(`http://127.0.0.1:${port}/health/ready`).then((r) => r.ok, () => false))) await new Promise((r) => setTimeout(r, 300));
      const { code, output, ms } = await run({ PORT: String(await freePort()), DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()) });
      expect(output).toBe(
        failure(
          `The data directory ${dataDir} is in use by an embed-idp that is running (PID ${first.pid}). ` +
            'Two instances cannot share one: use that one, or start this one with another DATA_DIR (and another PORT).',
        ),
      );
      expect(code).toBe(1);
      expect(ms).toBeLessThan(FAST_MS);
      // The running one was left alone.
      expect((await fetch(`http://127.0.0.1:${port}/health/ready`)).status).toBe(200);
    } finally {
      first.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
    }
  }, 150_000);
});

describe('start-up failures with DATABASE_URL', () => {
  it('HTTP PORT in use: names PORT', async () => {
    const blocker = net.createServer();
    const port = await freePort();
    await new Promise<void>((r) => blocker.listen(port, () => r()));
    try {
      const { code, output, ms } = await run({ PORT: String(port), DATABASE_URL: 'postgres://u:p@127.0.0.1:1/x' });
      expect(output).toBe(
        failure(`PORT ${port} is already in use (another embed-idp, or another server): stop what uses it, or set PORT to a free port (e.g. PORT=3000).`),
      );
      expect(code).toBe(1);
      expect(ms).toBeLessThan(FAST_MS);
    } finally {
      blocker.close();
    }
  }, 60_000);

  it('a Postgres that refuses the connection: names DATABASE_URL with its host and port, in seconds', async () => {
    const dbPort = await freePort(); // nothing listens there
    const { code, output, ms } = await run({ PORT: String(await freePort()), DATABASE_URL: `postgres://embed:pw@127.0.0.1:${dbPort}/embed` });
    expect(output).toBe(
      failure(`Postgres at 127.0.0.1:${dbPort} (DATABASE_URL) refused the connection: start Postgres there, or correct the host and port in DATABASE_URL.`),
    );
    expect(code).toBe(1);
    expect(ms).toBeLessThan(FAST_MS);
  }, 60_000);

  it('a wrong password: said at once, the password never printed', async () => {
    const url = new URL(testServerUrl());
    url.password = 'not-the-password-1234';
    const { code, output, ms } = await run({ PORT: String(await freePort()), DATABASE_URL: url.toString() });
    expect(output).toBe(
      failure(
        `Postgres at ${url.hostname}:${url.port} refused the user or password in DATABASE_URL: correct them in DATABASE_URL (a password with special characters must be percent-encoded).`,
      ),
    );
    expect(code).toBe(1);
    expect(ms).toBeLessThan(FAST_MS);
  }, 60_000);

  it('a SECRETS_KEY that is not the one the database was sealed with: one line, no stack', async () => {
    const db = await createDatabase();
    try {
      const c = new Client({ connectionString: db.url });
      await c.connect();
      await c.query('INSERT INTO secrets_check (id, sealed) VALUES (1, $1)', [new SecretBox(randomBytes(32)).seal('sealed under another key', 'secrets_check:1')]);
      await c.end();
      const { code, output } = await run({ PORT: String(await freePort()), DATABASE_URL: db.url, SECRETS_KEY: randomBytes(32).toString('hex') });
      expect(output).toBe(
        failure(
          "SECRETS_KEY is not the key this database's secrets were sealed with: it does not open the check value stored at the first start (table secrets_check). " +
            'Set SECRETS_KEY back to the key used before (outside production without SECRETS_KEY it is kept in DATA_DIR/secrets.key). ' +
            'To change the key: set SECRETS_KEY to the new key and SECRETS_KEY_PREVIOUS to the old one, start, then run `npm run rotate-secrets` ' +
            '(in the image: `node dist/src/crypto/rotate-secrets.js`) and remove SECRETS_KEY_PREVIOUS.',
        ),
      );
      expect(code).toBe(1);
    } finally {
      await dropDatabase(db.name);
    }
  }, 120_000);
});

describe('a TRUST_PROXY the service will not run with', () => {
  it.each(['0.0.0.0/0', '0.0.0.0/1,128.0.0.0/1,::/1,8000::/1'])('TRUST_PROXY=%s: exit 1 with one line naming the variable, no stack', async (value) => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'embed-idp-fail-'));
    try {
      const { code, output } = await run({ PORT: String(await freePort()), DATA_DIR: dataDir, TRUST_PROXY: value }, 30_000);
      expect(code).toBe(1);
      expect(output).toMatch(/^embed-idp failed to start: TRUST_PROXY: [^\n]+\n$/);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('start from a terminal', () => {
  const script = spawnSync('script', ['--version']).status === 0;
  (script ? it : it.skip)('prints a short summary (URL, database, admin key), not the JSON start-up lines', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'embed-idp-tty-'));
    fs.chmodSync(dataDir, 0o755);
    const port = await freePort();
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'development', PORT: String(port), DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()) };
    // `script` gives the process a pseudo-terminal as stdout.
    const child = spawn('script', ['-qfec', `${process.execPath} -r ts-node/register/transpile-only src/main.ts`, '/dev/null'], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
    const exited = new Promise((r) => child.once('exit', r));
    try {
      const deadline = Date.now() + 90_000;
      while (!output.includes('logs ') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 300));
      expect(output).toContain(`embed-idp is ready: http://localhost:${port}`);
      expect(output).toContain(`embedded Postgres in ${path.join(dataDir, 'postgres')}`);
      expect(output).toContain('no bootstrap key: set BOOTSTRAP_ADMIN_KEY');
      expect(output).toContain(`http://localhost:${port}/console: sign in with organization "operators", as an operator (set BOOTSTRAP_OPERATOR_EMAIL`);
      expect(output.split('\n').filter((l) => l.trim().startsWith('{"level"')).length).toBe(0);
    } finally {
      child.kill('SIGTERM');
      // `script` passes SIGTERM on; give the service time to stop its Postgres.
      await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
      for (let i = 0; i < 100 && fs.existsSync(path.join(dataDir, 'postgres', 'postmaster.pid')); i++) await new Promise((r) => setTimeout(r, 100));
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
