import { isIP } from 'node:net';
import * as path from 'node:path';
import proxyaddr from 'proxy-addr';
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
  /** WORKERS (default 1): processes serving the port (src/cluster.ts); more than one needs DATABASE_URL. */
  workers: number;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** NODE_ENV, PORT, PUBLIC_URL, DATA_DIR, LOG_LEVEL, TRUST_PROXY(_ALLOW_PUBLIC), SHUTDOWN_GRACE_PERIOD, SSO_FAST_PATH, WORKERS. */
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
    trustProxy: parseTrustProxy(read.str('TRUST_PROXY'), read.problems, read.onOff('TRUST_PROXY_ALLOW_PUBLIC', false)),
    dataDir,
    shutdownGraceSeconds: read.int('SHUTDOWN_GRACE_PERIOD', 10, 0, 600),
    interactive,
    ssoFastPath: read.onOff('SSO_FAST_PATH', true),
    workers: read.int('WORKERS', 1, 1, 64),
  };
}

/** Express's `trust proxy` setting, in the forms that do not trust every hop. */
export type TrustProxy = false | number | string[];

/** proxy-addr's named ranges (what Express accepts besides addresses and CIDRs). */
const NAMED_PROXY_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * Where a proxy we trust may stand without the operator saying more: loopback, RFC 1918,
 * CGNAT (RFC 6598, 100.64.0.0/10, where some cloud load balancers sit), IPv4 and IPv6
 * link-local, and IPv6 unique local (RFC 4193). Every trusted address may write the client IP
 * into X-Forwarded-For; from a public range that is anyone on it.
 */
const PRIVATE_RANGES: [range: string, prefix: number][] = [
  ['127.0.0.0', 8],
  ['10.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['100.64.0.0', 10],
  ['169.254.0.0', 16],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
];
const PRIVATE_MATCHERS = PRIVATE_RANGES.map(([range, prefix]) => ({
  family: isIP(range),
  prefix,
  matches: proxyaddr.compile(`${range}/${prefix}`),
}));

/**
 * TRUST_PROXY: which X-Forwarded-For entries to believe (they give the client IP used by the
 * per-IP login limit and written to the audit log). `false`/`0`: none; a number N: the N
 * proxies nearest the service (Express's hop count); else a comma-separated list of proxy
 * addresses, CIDRs or the names loopback, linklocal, uniquelocal. `true` is refused: Express
 * would then take the LEFTMOST entry, which the client writes itself — any visitor could pick
 * its IP, rotate past the per-IP limit and forge audit IPs. There is no safe mapping for it:
 * the number of proxies is not knowable from here. For the same reason an address or range
 * outside private networks (PRIVATE_RANGES; `0.0.0.0/1,128.0.0.0/1` is the whole internet in
 * two pieces) needs `allowPublic` (TRUST_PROXY_ALLOW_PUBLIC=true), and whatever proxy-addr
 * (Express's `trust proxy`) would throw on at start is refused here, in one line.
 */
export function parseTrustProxy(raw: string | undefined, problems: string[], allowPublic = false): TrustProxy {
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
  const bad = entries.filter((e) => !NAMED_PROXY_RANGES.has(e) && !(isAddressOrCidr(e) && compiles(e)));
  if (bad.length) {
    problems.push(
      `TRUST_PROXY: must be false, a number of proxies, or a comma-separated list of proxy addresses, CIDRs (prefix 1 or more), loopback, linklocal or uniquelocal (not understood: ${quoted(bad)})`,
    );
    return false;
  }
  const outside = allowPublic ? [] : entries.filter((e) => !NAMED_PROXY_RANGES.has(e) && !isPrivate(e));
  if (outside.length) {
    problems.push(
      `TRUST_PROXY: trusts addresses outside private networks: ${quoted(outside)}; any host there could write the client IP into X-Forwarded-For. Name only your proxies (loopback, 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10, link-local, fc00::/7), or set TRUST_PROXY_ALLOW_PUBLIC=true if they really sit at public addresses`,
    );
    return false;
  }
  return entries;
}

const quoted = (list: string[]) => list.map((b) => `"${b}"`).join(', ');

/** proxy-addr's own parser: what it would throw on when Express compiles `trust proxy`. */
function compiles(entry: string): boolean {
  try {
    proxyaddr.compile(entry);
    return true;
  } catch {
    return false;
  }
}

/**
 * Inside one private range: the entry's address is in it and the entry's prefix is at least as
 * long (a /p block is inside the /q block holding its address when p >= q). An IPv4-mapped
 * IPv6 entry (::ffff:a.b.c.d/p) is the IPv4 block /p-96.
 */
function isPrivate(entry: string): boolean {
  const [addr, prefixRaw] = entry.split('/');
  const family = isIP(addr);
  const width = family === 4 ? 32 : 128;
  const prefix = prefixRaw === undefined ? width : Number(prefixRaw);
  return PRIVATE_MATCHERS.some((r) => {
    if (!r.matches(addr, 0)) return false;
    const effective = family === r.family ? prefix : family === 6 ? prefix - 96 : prefix + 96;
    return effective >= r.prefix;
  });
}
function isAddressOrCidr(entry: string): boolean {
  const [addr, prefix, ...rest] = entry.split('/');
  const family = isIP(addr);
  if (!family || rest.length) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}
