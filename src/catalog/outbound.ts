import { Injectable } from '@nestjs/common';
import { lookup as dnsLookup, LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP } from 'node:net';
import { InjectConfig } from '../config/config.module';
import { Config } from '../config/configuration';

/**
 * Addresses that are not the public internet (RFC 6890 special-purpose registries): loopback,
 * private (RFC 1918, ULA), link-local (and with it cloud metadata at 169.254.169.254), CGNAT,
 * "this network", documentation, benchmarking, multicast, reserved, and IPv6 forms that embed an
 * IPv4 address (mapped, NAT64, 6to4, Teredo) and could reach any of those.
 */
const NON_PUBLIC = { ipv4: new BlockList(), ipv6: new BlockList() };
// Two lists: Node's BlockList matches an IPv4 address against IPv6 rules through its mapped
// form (::ffff:a.b.c.d), so the IPv6 ::ffff:0:0/96 rule would otherwise refuse every IPv4.
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) NON_PUBLIC.ipv4.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128], ['::1', 128], ['::ffff:0:0', 96], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['100::', 64], ['2001::', 23],
  ['2001:db8::', 32], ['2002::', 16], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
] as const) NON_PUBLIC.ipv6.addSubnet(net, bits, 'ipv6');

/** Thrown by the guarded fetch instead of connecting: says which address and why, no secret. */
export class OutboundRefused extends Error {
  constructor(readonly outboundRefusal: string) {
    super(outboundRefusal);
    this.name = 'OutboundRefused';
  }
}

/** The most of an answer read from a product (its JSON answers are a few kB). */
const MAX_ANSWER_BYTES = 1 << 20;
const SAVE_TIME_LOOKUP_MS = 3000;

/**
 * The service's own outbound calls (a token broker's, to a workspace an operator configured).
 * In production (OUTBOUND_ALLOW_PRIVATE unset) they may reach public addresses only, so a
 * target's base URL cannot turn the service into a proxy to its own network (loopback admin
 * ports, cloud metadata, the database). Checked twice: when a target is saved (a clear 400)
 * and on the address actually connected to (a custom DNS lookup on the socket), since a name
 * can resolve differently later (DNS rebinding). Redirects are never followed: a 3xx is handed
 * back as it is, for the caller to report.
 */
@Injectable()
export class OutboundGuard {
  private readonly allowed = new BlockList();
  private readonly agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };

  constructor(@InjectConfig('outbound') private readonly cfg: Config<'outbound'>) {
    for (const cidr of cfg.allowCidrs) {
      const [net, bits] = cidr.split('/');
      this.allowed.addSubnet(net, Number(bits), isIP(net) === 4 ? 'ipv4' : 'ipv6');
    }
  }

  /** Why `address` (an IP) may not be called, or null when it may. */
  refusal(address: string): string | null {
    if (!this.cfg.refuseNonPublic) return null;
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (this.allowed.check(address, family)) return null;
    if (!NON_PUBLIC[family].check(address, family)) return null;
    return `${address} is not a public address (loopback, private, link-local or reserved); outbound calls there are refused in production unless OUTBOUND_ALLOW_PRIVATE allows it`;
  }

  /** Save-time check of a base URL the service will call: problems naming `field` (none when fine). */
  async baseUrlProblems(baseUrl: string, field = 'baseUrl'): Promise<string[]> {
    if (!this.cfg.refuseNonPublic) return [];
    const host = new URL(baseUrl).hostname.replace(/^\[|\]$/g, '');
    if (isIP(host)) {
      const why = this.refusal(host);
      return why ? [`${field}: ${why}`] : [];
    }
    if (host === 'localhost' || host.endsWith('.localhost')) return [`${field}: ${host} is a loopback name; outbound calls there are refused in production unless OUTBOUND_ALLOW_PRIVATE allows it`];
    // A name that does not resolve now is left to the connect-time check.
    const addresses = await new Promise<LookupAddress[]>((resolve) => {
      const timer = setTimeout(() => resolve([]), SAVE_TIME_LOOKUP_MS);
      dnsLookup(host, { all: true }, (err, found) => {
        clearTimeout(timer);
        resolve(err ? [] : found);
      });
    });
    for (const a of addresses) {
      const why = this.refusal(a.address);
      if (why) return [`${field}: ${host} resolves to ${why}`];
    }
    return [];
  }

  /** Node's socket lookup, refusing when any address the name resolves to is refused. */
  private readonly lookup = (hostname: string, options: { all?: boolean; family?: number }, callback: (...args: unknown[]) => void): void => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err);
      for (const a of addresses) {
        const why = this.refusal(a.address);
        if (why) return callback(new OutboundRefused(`${hostname} resolves to ${why}`));
      }
      if (options.all) callback(null, addresses);
      else callback(null, addresses[0].address, addresses[0].family);
    });
  };

  /**
   * A fetch for brokers: the same answer shape, but it connects only to allowed addresses and
   * never follows a redirect (`init.redirect` is ignored: a 3xx comes back as it is).
   */
  readonly fetch = ((input: string | URL, init: RequestInit = {}) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(String(input));
      const secure = url.protocol === 'https:';
      if (!secure && url.protocol !== 'http:') return reject(new OutboundRefused(`${url.protocol} is not http(s)`));
      // A literal address is connected to without a lookup: checked here.
      const host = url.hostname.replace(/^\[|\]$/g, '');
      const literal = isIP(host) ? this.refusal(host) : null;
      if (literal) return reject(new OutboundRefused(literal));
      const headers: Record<string, string> = {};
      new Headers(init.headers).forEach((v, k) => (headers[k] = v));
      const body = init.body === undefined || init.body === null ? undefined : String(init.body);
      if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
      const req = (secure ? https : http).request(
        url,
        { method: init.method ?? 'GET', headers, signal: init.signal ?? undefined, lookup: this.lookup as never, agent: secure ? this.agents.https : this.agents.http },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_ANSWER_BYTES) req.destroy(new Error('the answer is too large'));
            else chunks.push(c);
          });
          res.on('error', reject);
          res.on('end', () => {
            const status = res.statusCode ?? 502;
            const h = new Headers();
            for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v);
            const noBody = status === 204 || status === 205 || status === 304;
            resolve(new Response(noBody ? null : Buffer.concat(chunks), { status, headers: h }));
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    })) as typeof globalThis.fetch;
}
