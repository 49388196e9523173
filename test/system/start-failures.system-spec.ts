import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from '../setup/global-setup';

/**
 * Start-up failures an operator meets on the embedded default say the cause and the fix in one
 * line (they used to print `ERROR [ExceptionHandler] undefined`), and a start from a terminal
 * prints a short summary instead of ~95 JSON lines.
 */
const ROOT = path.resolve(__dirname, '..', '..');

function run(env: NodeJS.ProcessEnv, timeoutMs = 90_000): Promise<{ code: number | null; output: string }> {
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
      resolve({ code, output });
    });
  });
}

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
      const { code, output } = await run({ PORT: String(await freePort()), DATA_DIR: tmp(), EMBEDDED_PG_PORT: String(port) });
      expect(code).toBe(1);
      expect(output).toContain(`port ${port} on 127.0.0.1 is already in use`);
      expect(output).toMatch(/set EMBEDDED_PG_PORT to a free port, or set DATABASE_URL/);
      expect(output).not.toMatch(/ExceptionHandler\] undefined/);
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
      expect(code).toBe(1);
      expect(output).toContain(`another Postgres (PID ${pid}) is still running on its data directory`);
      expect(output).toContain(`kill ${pid}`);
    } finally {
      process.kill(pid, 'SIGTERM'); // the Postgres this test left behind, by its id
      for (let i = 0; i < 100 && fs.existsSync(pidFile); i++) await new Promise((r) => setTimeout(r, 100));
    }
  }, 120_000);
});

describe('a TRUST_PROXY the service will not run with', () => {
  it.each(['0.0.0.0/0', '0.0.0.0/1,128.0.0.0/1,::/1,8000::/1'])('TRUST_PROXY=%s: exit 1 with one line naming the variable, no stack', async (value) => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'embed-idp-fail-'));
    try {
      const { code, output } = await run({ PORT: String(await freePort()), DATA_DIR: dataDir, TRUST_PROXY: value }, 30_000);
      expect(code).toBe(1);
      const lines = output.trim().split('\n');
      expect(lines.filter((l) => l.includes('TRUST_PROXY'))).toHaveLength(1);
      expect(output).not.toMatch(/\n\s+at |TypeError/);
      expect(lines.length).toBeLessThanOrEqual(2);
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
