import { spawn } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

/** A dedicated Postgres cluster in a child process (see run-embedded-postgres.ts). */
export interface PostgresProcess {
  adminUrl: string;
  withDatabase(name: string): string;
  /** Stops the cluster cleanly (fast shutdown) and resolves once the process has exited. */
  stop(): Promise<void>;
}

export async function startPostgresProcess(dir: string, port: number): Promise<PostgresProcess> {
  const proc = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(__dirname, 'run-embedded-postgres.ts'), dir, String(port)], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const output: string[] = [];
  const adminUrl = await new Promise<string>((resolve, reject) => {
    proc.stdout!.on('data', (d) => {
      output.push(String(d));
      const m = /READY (\S+)/.exec(output.join(''));
      if (m) resolve(m[1]);
    });
    proc.stderr!.on('data', (d) => output.push(String(d)));
    void exited.then(() => reject(new Error(`embedded Postgres exited:\n${output.join('')}`)));
  });
  return {
    adminUrl,
    withDatabase: (name) => adminUrl.replace(/\/postgres$/, `/${name}`),
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}
