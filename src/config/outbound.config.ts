import { BlockList, isIP } from 'node:net';
import { EnvReader, NodeEnv } from './env';

/** The `outbound` namespace: which addresses the service's own calls (a token broker's) may reach. */
export interface OutboundNamespace {
  /** Refuse loopback, private, link-local and other non-public addresses (production default). */
  refuseNonPublic: boolean;
  /** CIDRs allowed even so (OUTBOUND_ALLOW_PRIVATE as a list), e.g. a workspace on a private link. */
  allowCidrs: string[];
}

/**
 * OUTBOUND_ALLOW_PRIVATE. In production non-public addresses are refused unless it is `true`
 * (all allowed) or lists CIDRs (`10.1.0.0/16,fd00::/8`); outside production nothing is refused
 * (tests and development run their fakes on loopback).
 */
export function parseOutbound(read: EnvReader, nodeEnv: NodeEnv): OutboundNamespace {
  const raw = read.str('OUTBOUND_ALLOW_PRIVATE');
  const production = nodeEnv === 'production';
  if (raw === undefined || raw === 'false') return { refuseNonPublic: production, allowCidrs: [] };
  if (raw === 'true') return { refuseNonPublic: false, allowCidrs: [] };
  const cidrs = raw.split(',').map((c) => c.trim()).filter(Boolean);
  const bad = cidrs.filter((c) => !validCidr(c));
  if (bad.length) {
    read.problems.push(`OUTBOUND_ALLOW_PRIVATE: must be true, false or comma-separated CIDRs like 10.1.0.0/16 (not ${bad.map((b) => JSON.stringify(b)).join(', ')})`);
    return { refuseNonPublic: production, allowCidrs: [] };
  }
  return { refuseNonPublic: production, allowCidrs: cidrs };
}

function validCidr(c: string): boolean {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(c);
  if (!m) return false;
  const family = isIP(m[1]);
  const bits = Number(m[2]);
  if (!family || bits > (family === 4 ? 32 : 128)) return false;
  try {
    new BlockList().addSubnet(m[1], bits, family === 4 ? 'ipv4' : 'ipv6');
    return true;
  } catch {
    return false;
  }
}
