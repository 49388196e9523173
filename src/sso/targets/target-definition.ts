import type { TargetKind, TargetSettings } from '../target.entity';

/**
 * What one BI product needs from us. One file per product under sso/targets/ implements
 * this and is listed once in sso/targets/index.ts; nothing else switches on the kind.
 *
 * The admin API uses the first part (validating a target's configuration); the SSO flow
 * (src/sso/sso.service.ts) and signed embeds (src/sso/embed.service.ts) use `sso` / `embed`.
 */
export interface TargetDefinition {
  kind: TargetKind;
  /** Which secrets the product uses (write-only in the API, sealed at rest). */
  secrets: { secret: 'required' | 'optional'; embeddingSecret: 'optional' | 'unused' };
  /**
   * Validates and normalises product settings (unknown keys are problems, not ignored).
   * Returns the settings to store, or the list of problems, each naming the key.
   */
  parseSettings(input: Record<string, unknown>): { settings: TargetSettings; problems: string[] };
  /** JWT SSO (Metabase, Sisense). Absent for a token broker that signs nothing (Databricks). */
  sso?: SsoBehaviour;
  /** Signed ("static") embeds, signed with the embedding secret. Only Metabase has them. */
  embed?: EmbedBehaviour;
}

/** Helpers shared by the product files for settings validation. */
export const settingsCheck = {
  positiveInt(problems: string[], key: string, v: unknown, min: number, max: number): number | undefined {
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      problems.push(`settings.${key} must be a whole number from ${min} to ${max}`);
      return undefined;
    }
    return v;
  },
  claimName(problems: string[], key: string, v: unknown): string | undefined {
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || !/^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$/.test(v)) {
      problems.push(`settings.${key} must be a claim name (letters, digits, _ . : -; at most 64)`);
      return undefined;
    }
    return v;
  },
  bool(problems: string[], key: string, v: unknown): boolean | undefined {
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') {
      problems.push(`settings.${key} must be true or false`);
      return undefined;
    }
    return v;
  },
  /** A list of origins (scheme://host[:port]), e.g. where the Metabase SDK or Compose SDK is embedded. */
  origins(problems: string[], key: string, v: unknown): string[] | undefined {
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.length > 50) {
      problems.push(`settings.${key} must be a list of at most 50 origins`);
      return undefined;
    }
    const out: string[] = [];
    for (const o of v) {
      let ok = false;
      if (typeof o === 'string') {
        try {
          const u = new URL(o);
          ok = (u.protocol === 'https:' || u.protocol === 'http:') && u.origin === o.replace(/\/$/, '');
          if (ok) out.push(u.origin);
        } catch {
          ok = false;
        }
      }
      if (!ok) problems.push(`settings.${key} entry ${JSON.stringify(o)} is not an origin like https://app.example.com`);
    }
    return out;
  },
  url(problems: string[], key: string, v: unknown): string | undefined {
    if (v === undefined) return undefined;
    try {
      const u = new URL(String(v));
      if ((u.protocol !== 'https:' && u.protocol !== 'http:') || typeof v !== 'string') throw new Error();
      return u.toString();
    } catch {
      problems.push(`settings.${key} must be an absolute http(s) URL`);
      return undefined;
    }
  },
  unknownKeys(problems: string[], input: Record<string, unknown>, known: readonly string[]): void {
    for (const k of Object.keys(input)) if (!known.includes(k)) problems.push(`settings.${k} is not a known setting`);
  },
};

// ---------------------------------------------------------------------------------------
// SSO part: what the shared SSO flow (src/sso/sso.service.ts) asks of each product.

import type { AccessSettings, GroupMappings } from '../access.entity';
import type { TargetSettings as Settings } from '../target.entity';

type Flat = Record<string, string | number | boolean>;

/** Everything a product file needs to build its token; loaded in one query by the SSO flow. */
export interface MintContext {
  target: { id: string; slug: string; baseUrl: string; settings: Settings };
  access: { groupMappings: GroupMappings; attributes: Flat; settings: AccessSettings };
  tenant: { id: string; slug: string; name: string; attributes: Flat };
  user: { id: string; email: string; firstName: string; lastName: string; attributes: Flat };
  /** The user's local group names (mapped through access.groupMappings by the product file). */
  groups: string[];
  /** Issued-at, integer seconds (already sequenced when strictlyIncreasingIat). */
  iat: number;
  /** Unique token id (uuid), recorded in issued_tokens before the token leaves. */
  jti: string;
}

export interface SsoBehaviour {
  /**
   * Sisense denies an iat not later than the user's previous one: when true the flow issues
   * iat = max(now, last + 1) per iatKey (the product's user) atomically in Postgres.
   */
  strictlyIncreasingIat: boolean;
  /** The identity the product keys the user by (the email claim it receives). */
  iatKey(ctx: Omit<MintContext, 'iat' | 'jti'>): { scope: string; subject: string };
  /** Token lifetime in seconds for this target. */
  ttlSeconds(settings: Settings): number;
  /** JOSE header fields besides alg (always HS256), e.g. { typ: 'JWT' }. */
  header: Record<string, string>;
  /** The JWT payload (iat, exp and jti included). */
  claims(ctx: MintContext, exp: number): Record<string, unknown>;
  /**
   * Normalises the return_to the product sent (already reassembled from the query string),
   * or returns null when it must be refused (not relative / not on an allowed origin).
   */
  normaliseReturnTo(raw: string | undefined, target: MintContext['target']): string | null;
  /** Where the browser goes with the token. */
  redirectUrl(ctx: Pick<MintContext, 'target' | 'access'>, jwt: string, returnTo: string): string;
  /** A browser URL that ends the product's own session (loaded by our logged-out page). */
  logoutUrl(ctx: Pick<MintContext, 'target' | 'access'>): string | null;
}

/** What a signed embed is built from (no jti/iat: the product's embed token carries neither). */
export type EmbedContext = Pick<MintContext, 'target' | 'access' | 'tenant' | 'user'>;

export interface EmbedBehaviour {
  /** Resource kinds as they appear in our URL, /embed/<target>/<kind>/<id>. */
  resources: readonly string[];
  /** Embed token lifetime in seconds for this target. */
  ttlSeconds(settings: Settings): number;
  /**
   * The token payload for resource `kind` number `id`, expiring at `exp` (epoch seconds).
   * Throws a DomainError (4xx) naming what is missing, e.g. a locked parameter's value.
   */
  payload(ctx: EmbedContext, kind: string, id: number, exp: number): Record<string, unknown>;
  /** The iframe URL for a signed token. */
  url(target: MintContext['target'], kind: string, token: string): string;
}
