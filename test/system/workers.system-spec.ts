import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { freePort } from '../setup/global-setup';
import { createDatabase, dropDatabase } from '../setup/test-db';

/**
 * WORKERS=2 (src/cluster.ts): the primary forks two workers sharing the port; requests reach
 * both; a killed worker is replaced and requests keep being answered; SIGHUP rolls the workers
 * one by one with every request answered; SIGTERM drains the workers and the primary exits 0
 * leaving no process behind.
 */
const ROOT = path.resolve(__dirname, '..', '..');

/** The primary's child processes (Linux /proc). */
function childrenOf(pid: number): number[] {
  try {
    return fs
      .readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** One request on a connection of its own (the primary hands out connections, not requests). */
function get(url: string, requestId: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: 10_000, headers: { 'x-request-id': requestId, connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`no answer to ${requestId} within 10 s`)));
  });
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('WORKERS=2: one port, two worker processes', () => {
  let db: { name: string; url: string };
  let child: ChildProcess | undefined;
  let exited: Promise<number | null>;
  const lines: string[] = [];

  beforeAll(async () => {
    db = await createDatabase({ empty: true });
  });
  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    await dropDatabase(db.name);
  });

  it('serves from both workers, replaces a killed one, rolls both on SIGHUP, and drains both on SIGTERM', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/main.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_ENV: 'production',
        PORT: String(port),
        PUBLIC_URL: base,
        DATABASE_URL: db.url,
        SECRETS_KEY: randomBytes(32).toString('hex'),
        LOG_LEVEL: 'info',
        WORKERS: '2',
        SHUTDOWN_GRACE_PERIOD: '5',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buf = '';
    child.stdout!.on('data', (b: Buffer) => {
      buf += b.toString();
      const parts = buf.split('\n');
      buf = parts.pop()!;
      lines.push(...parts);
    });
    child.stderr!.on('data', (b: Buffer) => lines.push(`[stderr] ${b.toString()}`));
    exited = new Promise((resolve) => child!.once('exit', (code) => resolve(code)));
    const primary = child.pid!;

    await waitFor('two workers listening', () => lines.some((l) => l.includes('2 workers listening')), 300_000).catch((e) => {
      throw new Error(`${(e as Error).message}\n${lines.join('\n')}`);
    });
    const workers = childrenOf(primary);
    expect(workers).toHaveLength(2);

    // Each request on its own connection: the primary hands connections out round robin.
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push(await get(`${base}/api/v1/tenants`, `workers-probe-${i}`));
    expect(statuses.every((s) => s === 401)).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    const servedBy = new Set(
      lines
        .filter((l) => l.startsWith('{') && l.includes('workers-probe-'))
        .map((l) => JSON.parse(l) as { pid: number })
        .map((l) => l.pid),
    );
    expect([...servedBy].sort()).toEqual([...workers].sort());

    // A worker dies: it is replaced, and every request meanwhile is answered by the other.
    // (A connection the primary handed to it in the instant it died is lost with it, as any
    // request in a crashing process is: the requests start once the primary saw the exit.)
    process.kill(workers[0], 'SIGKILL');
    await waitFor('the primary to see the exit', () => lines.some((l) => l.includes(`(pid ${workers[0]}) exited (SIGKILL)`)));
    const during: number[] = [];
    await waitFor('a replacement worker', async () => {
      during.push(await get(`${base}/health/live`, `workers-during-${during.length}`));
      const now = childrenOf(primary);
      return now.length === 2 && !now.includes(workers[0]) && lines.some((l) => /worker \d+ replaced/.test(l));
    }, 240_000);
    expect(during.length).toBeGreaterThan(0);
    expect(during.every((s) => s === 200)).toBe(true);
    const replaced = childrenOf(primary);
    expect(replaced).toContain(workers[1]);
    expect((await get(`${base}/health/ready`, 'workers-after')) === 200).toBe(true);

    // SIGHUP: a rolling restart. Each worker gets a successor listening before it drains, so
    // requests sent all through the roll are all answered, and afterwards no old pid is left.
    child.kill('SIGHUP');
    const rolling: number[] = [];
    let probe = 0;
    await waitFor('the rolling restart to end', async () => {
      const batch = await Promise.all([0, 1, 2].map(() => get(`${base}/api/v1/tenants`, `workers-roll-${probe++}`)));
      rolling.push(...batch);
      return lines.some((l) => l.includes('rolling restart done'));
    }, 300_000);
    expect(rolling.length).toBeGreaterThan(3);
    expect(rolling.filter((s) => s !== 401)).toEqual([]);
    expect(lines.some((l) => l.includes('SIGHUP: restarting the workers one after the other'))).toBe(true);
    const rolled = childrenOf(primary);
    expect(rolled).toHaveLength(2);
    for (const pid of replaced) {
      expect(rolled).not.toContain(pid);
      expect(fs.existsSync(`/proc/${pid}`)).toBe(false);
    }
    expect(await get(`${base}/health/ready`, 'workers-after-roll')).toBe(200);

    // SIGTERM: the workers drain one after the other, the primary exits 0, nothing is left.
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    for (const pid of rolled) expect(fs.existsSync(`/proc/${pid}`)).toBe(false);
    expect(lines.some((l) => l.includes('SIGTERM: draining the workers one after the other'))).toBe(true);
  }, 600_000);
});
