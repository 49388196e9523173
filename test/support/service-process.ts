import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { freePort } from '../setup/global-setup';
import { serviceBuild } from './service-build';

const ROOT = path.resolve(__dirname, '..', '..');

/** `src/main.ts` run as its own process (no memory shared with the test or other services). */
export interface ServiceProcess {
  proc: ChildProcess;
  port: number;
  url: string;
  /** Everything it wrote, stdout and stderr. */
  output: string[];
  exited: Promise<number | null>;
}

/**
 * Starts the service (compiled once, see serviceBuild; or the build `main` names) on `databaseUrl` (on `port` when given, so a restart takes the same
 * address) and waits until /health/ready answers 200.
 */
export async function startService(databaseUrl: string, opts: { port?: number; env?: Record<string, string>; main?: string } = {}): Promise<ServiceProcess> {
  const port = opts.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const output: string[] = [];
  // `main`: another build's src/main.js (the previous release, in a rolling upgrade).
  const proc = spawn(process.execPath, [opts.main ?? serviceBuild()], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: databaseUrl,
      NODE_ENV: 'test',
      SECRETS_KEY: process.env.SECRETS_KEY,
      PORT: String(port),
      PUBLIC_URL: url,
      LOG_LEVEL: 'warn',
      DB_POOL_SIZE: '5',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.on('data', (d) => output.push(String(d)));
  proc.stderr!.on('data', (d) => output.push(String(d)));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`service exited with ${proc.exitCode}:\n${output.join('')}`);
    try {
      if ((await fetch(`${url}/health/ready`)).ok) return { proc, port, url, output, exited };
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`service did not become ready:\n${output.join('')}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** SIGTERM, and the exit code (SIGKILL after `killAfterMs`, then null). */
export async function stopService(s: ServiceProcess | undefined, killAfterMs = 30_000): Promise<number | null> {
  if (!s) return null;
  if (s.proc.exitCode !== null || s.proc.signalCode !== null) return s.exited;
  s.proc.kill('SIGTERM');
  const timer = setTimeout(() => s.proc.kill('SIGKILL'), killAfterMs);
  const code = await s.exited;
  clearTimeout(timer);
  return code;
}
