import { isIP } from 'node:net';
import * as path from 'node:path';
import { EnvReader, NodeEnv } from './env';

/** The `app` namespace: how the service itself runs and where it is reached. */
export interface AppNamespace {
  nodeEnv: NodeEnv;
  port: number;
  /** Origin (and optional base path) the service is reached at, no trailing slash. */
  publicUrl: string;
  /** True when PUBLIC_URL is https: cookies get Secure and SameSite=None. */
  secureCookies: boolean;
  logLevel: string;
  /** Express's `trust proxy`: false, a hop count, or the proxies' addresses (see parseTrustProxy). */
  trustProxy: TrustProxy;
  dataDir: string;
  /** Seconds in-flight requests get to finish after SIGTERM before the pool closes. */
  shutdownGraceSeconds: number;
  /**
   * Started from a terminal (stdout is a TTY) with no LOG_LEVEL: main prints a short human
   * summary and the JSON log keeps to warnings and errors.
   */
  interactive: boolean;
  /** SSO_FAST_PATH (default on): successful SSO handshakes answered before Express (sso-fast-path.ts). */
  ssoFastPath: boolean;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** NODE_ENV, PORT, PUBLIC_URL, DATA_DIR, LOG_LEVEL, TRUST_PROXY, SHUTDOWN_GRACE_PERIOD, SSO_FAST_PATH. */
export function parseApp(read: EnvReader, opts: { interactive?: boolean } = {}): AppNamespace {
  const nodeEnvRaw = read.str('NODE_ENV') ?? 'development';
  let nodeEnv: NodeEnv = 'development';
  if (nodeEnvRaw === 'development' || nodeEnvRaw === 'production' || nodeEnvRaw === 'test') {
    nodeEnv = nodeEnvRaw;
  } else {
    read.problems.push(`NODE_ENV: must be one of development, production, test (got "${nodeEnvRaw}")`);
  }

  const port = read.int('PORT', 3000, 0, 65535);

  let publicUrl = `http://localhost:${port}`;
  const publicRaw = read.str('PUBLIC_URL');
  if (publicRaw !== undefined) {
    try {
      const u = new URL(publicRaw);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
      if (u.search || u.hash || u.username || u.password) throw new Error('extra');
      publicUrl = `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
    } catch {
      read.problems.push(
        `PUBLIC_URL: must be an absolute http(s) URL with no query, fragment or credentials (got "${publicRaw}")`,
      );
    }
  } else if (nodeEnv === 'production') {
    read.problems.push('PUBLIC_URL: is required in production (the URL BI tools redirect visitors to)');
  }

  const dataDir = path.resolve(read.str('DATA_DIR') ?? '.data');

  const interactive = (opts.interactive ?? false) && read.str('LOG_LEVEL') === undefined && nodeEnv !== 'test';
  const logLevel = read.str('LOG_LEVEL') ?? (nodeEnv === 'test' || interactive ? 'warn' : 'info');
  if (!LOG_LEVELS.includes(logLevel)) {
    read.problems.push(`LOG_LEVEL: must be one of ${LOG_LEVELS.join(', ')} (got "${logLevel}")`);
  }

  return {
    nodeEnv,
    port,
    publicUrl,
    secureCookies: publicUrl.startsWith('https:'),
    logLevel,
    trustProxy: parseTrustProxy(read.str('TRUST_PROXY'), read.problems),
    dataDir,
    shutdownGraceSeconds: read.int('SHUTDOWN_GRACE_PERIOD', 10, 0, 600),
    interactive,
    ssoFastPath: read.onOff('SSO_FAST_PATH', true),
  };
}

/** Express's `trust proxy` setting, in the forms that do not trust every hop. */
export type TrustProxy = false | number | string[];

/** proxy-addr's named ranges (what Express accepts besides addresses and CIDRs). */
const NAMED_PROXY_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * TRUST_PROXY: which X-Forwarded-For entries to believe (they give the client IP used by the
 * per-IP login limit and written to the audit log). `false`/`0`: none; a number N: the N
 * proxies nearest the service (Express's hop count); else a comma-separated list of proxy
 * addresses, CIDRs or the names loopback, linklocal, uniquelocal. `true` is refused: Express
 * would then take the LEFTMOST entry, which the client writes itself — any visitor could pick
 * its IP, rotate past the per-IP limit and forge audit IPs (issue 8, finding 6). There is no
 * safe mapping for it: the number of proxies is not knowable from here.
 */
export function parseTrustProxy(raw: string | undefined, problems: string[]): TrustProxy {
  if (raw === undefined || /^(false|no|0)$/i.test(raw)) return false;
  if (/^(true|yes)$/i.test(raw)) {
    problems.push(
      'TRUST_PROXY: "true" would trust every X-Forwarded-For entry, which clients can forge; give the number of proxies in front of the service (e.g. 1) or their addresses (e.g. loopback or 10.0.0.0/8)',
    );
    return false;
  }
  if (/^\d+$/.test(raw)) {
    const hops = Number(raw);
    if (hops > 10) problems.push(`TRUST_PROXY: a hop count must be from 0 to 10 (got "${raw}")`);
    return hops > 10 ? false : hops;
  }
  const entries = raw.split(',').map((e) => e.trim());
  const bad = entries.filter((e) => !NAMED_PROXY_RANGES.has(e) && !isAddressOrCidr(e));
  if (bad.length) {
    problems.push(
      `TRUST_PROXY: must be false, a number of proxies, or a comma-separated list of proxy addresses, CIDRs, loopback, linklocal or uniquelocal (not understood: ${bad.map((b) => `"${b}"`).join(', ')})`,
    );
    return false;
  }
  return entries;
}

function isAddressOrCidr(entry: string): boolean {
  const [addr, prefix, ...rest] = entry.split('/');
  const family = isIP(addr);
  if (!family || rest.length) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}
