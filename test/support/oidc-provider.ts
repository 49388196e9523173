import { ChildProcess, spawn } from 'node:child_process';
import { generateKeyPair, exportJWK, JWK, SignJWT, JWTPayload } from 'jose';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';

/** A signing key of a test issuer: the private JWK (with kid and alg) and the key itself. */
export interface IssuerKey {
  kid: string;
  alg: string;
  jwk: JWK;
  privateKey: Parameters<SignJWT['sign']>[0];
}

export async function issuerKey(alg = 'RS256'): Promise<IssuerKey> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  const kid = randomUUID();
  const jwk = { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
  return { kid, alg, jwk, privateKey };
}

/** oidc-provider in its own process (test/support/oidc-provider-process.mjs). */
export interface OidcProviderProcess {
  issuer: string;
  proc: ChildProcess;
  output: string[];
  keys: IssuerKey[];
  /** Publishes `keys` instead (a rotation: a new kid). */
  rotate(keys: IssuerKey[]): Promise<void>;
  /** A token signed with `key` (default: the first published), iss = this issuer. */
  sign(claims: JWTPayload, opts?: { key?: IssuerKey; header?: Record<string, unknown> }): Promise<string>;
  stop(): Promise<void>;
}

export async function startOidcProvider(opts: { clients?: Record<string, unknown>[]; keys?: IssuerKey[] } = {}): Promise<OidcProviderProcess> {
  const keys = opts.keys ?? [await issuerKey()];
  const output: string[] = [];
  const proc = spawn(process.execPath, [path.join(__dirname, 'oidc-provider-process.mjs'), JSON.stringify({ keys: keys.map((k) => k.jwk), clients: opts.clients ?? [] })], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'test' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stderr!.on('data', (d) => output.push(String(d)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`oidc-provider did not start:\n${output.join('')}`)), 30_000);
    proc.stdout!.on('data', (d) => {
      output.push(String(d));
      const m = /listening (\d+)/.exec(String(d));
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`oidc-provider exited with ${code}:\n${output.join('')}`));
    });
  });
  const issuer = `http://127.0.0.1:${port}`;
  const p: OidcProviderProcess = {
    issuer,
    proc,
    output,
    keys,
    async rotate(next) {
      const r = await fetch(`${issuer}/__test/keys`, { method: 'PUT', body: JSON.stringify({ keys: next.map((k) => k.jwk) }) });
      if (r.status !== 204) throw new Error(`rotate: ${r.status}`);
      p.keys = next;
    },
    async sign(claims, o = {}) {
      const key = o.key ?? p.keys[0];
      return new SignJWT({ iss: issuer, ...claims }).setProtectedHeader({ alg: key.alg, kid: key.kid, ...o.header }).sign(key.privateKey);
    },
    async stop() {
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
  return p;
}
