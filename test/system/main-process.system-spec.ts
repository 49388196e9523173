import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from '../setup/global-setup';

/**
 * `npm start` as an operator runs it: no DATABASE_URL, so the service starts its embedded
 * Postgres under DATA_DIR; it logs JSON lines carrying the request id; SIGTERM stops the
 * service and the cluster cleanly; a second start reuses the data.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const KEY = 'main-process-bootstrap-key-0123456789';

interface Running {
  child: ChildProcess;
  url: string;
  lines: string[];
  exited: Promise<number | null>;
}

async function start(dataDir: string, pgPort: number): Promise<Running> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'development',
    PORT: String(port),
    DATA_DIR: dataDir,
    EMBEDDED_PG_PORT: String(pgPort),
    BOOTSTRAP_ADMIN_KEY: KEY,
    LOG_LEVEL: 'info',
  };
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/main.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let buf = '';
  child.stdout!.on('data', (b: Buffer) => {
    buf += b.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr!.on('data', (b: Buffer) => lines.push(`[stderr] ${b.toString()}`));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  let done = false;
  void exited.then(() => (done = true));
  for (;;) {
    if (done) throw new Error(`the service exited during start-up:\n${lines.join('\n')}`);
    try {
      if ((await fetch(`${url}/health/ready`)).ok) break;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error('not ready within 90 s');
    await new Promise((r) => setTimeout(r, 300));
  }
  return { child, url, lines, exited };
}

async function stop(r: Running): Promise<number | null> {
  r.child.kill('SIGTERM');
  const timer = setTimeout(() => r.child.kill('SIGKILL'), 30_000);
  const code = await r.exited;
  clearTimeout(timer);
  return code;
}

describe('the service process with its embedded Postgres', () => {
  let dataDir: string;
  let running: Running | undefined;

  beforeAll(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'embed-idp-main-'));
    fs.chmodSync(dataDir, 0o755);
  });
  afterAll(async () => {
    if (running && running.child.exitCode === null) await stop(running);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts on the embedded default, logs JSON with the request id, stops cleanly on SIGTERM and keeps its data', async () => {
    const pgPort = await freePort();
    const auth = { Authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
    running = await start(dataDir, pgPort);
    expect(fs.existsSync(path.join(dataDir, 'postgres', 'PG_VERSION'))).toBe(true);
    expect(fs.existsSync(path.join(dataDir, 'secrets.key'))).toBe(true);

    const created = await fetch(`${running.url}/api/v1/tenants`, { method: 'POST', headers: auth, body: JSON.stringify({ slug: 'kept', name: 'Kept' }) });
    expect(created.status).toBe(201);
    const missing = await fetch(`${running.url}/api/v1/tenants/00000000-0000-4000-8000-000000000000`, { headers: { ...auth, 'X-Request-Id': 'main-probe-1' } });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { requestId: string }).requestId).toBe('main-probe-1');
    await new Promise((r) => setTimeout(r, 200));
    const json = running.lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    expect(json.length).toBeGreaterThan(0);
    const probe = json.find((l) => l.req?.id === 'main-probe-1');
    expect(probe).toMatchObject({ req: { id: 'main-probe-1', method: 'GET' }, res: { statusCode: 404 } });
    // The bootstrap key itself never reaches the log.
    expect(running.lines.join('\n')).not.toContain(KEY);

    expect(await stop(running)).toBe(0);
    // Postgres shut down cleanly: no postmaster.pid left behind.
    expect(fs.existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);

    running = await start(dataDir, pgPort);
    const list = (await (await fetch(`${running.url}/api/v1/tenants`, { headers: auth })).json()) as { items: { slug: string }[] };
    expect(list.items.map((t: { slug: string }) => t.slug)).toEqual(['kept']);
    expect(await stop(running)).toBe(0);
  }, 240_000);
});
