import type { TargetKind, TargetSettings } from '../target.entity';
import type { TargetDefinition } from '../targets/target-definition';

/** Target slugs follow the tenant slug rule (also a CHECK constraint in the schema). */
export const TARGET_SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/;

/**
 * Metabase's JWT shared secret and embedding secret key are 64 hex characters it generates;
 * Sisense's shared secret is a long random string. Anything this short is a typo or a
 * placeholder, and an HMAC key that short is guessable offline from one captured token.
 */
export const MIN_SECRET_LENGTH = 16;
export const MAX_SECRET_LENGTH = 1024;

export interface CreateTargetInput {
  slug: string;
  kind: TargetKind;
  name?: string;
  baseUrl: string;
  secret?: string;
  embeddingSecret?: string;
  settings?: Record<string, unknown>;
  disabled?: boolean;
}

/**
 * Any field may change. A secret is replaced only when sent; `embeddingSecret: null` removes
 * the embedding secret. `settings`, when sent, replaces the whole settings object.
 */
export interface UpdateTargetInput {
  slug?: string;
  kind?: TargetKind;
  name?: string;
  baseUrl?: string;
  secret?: string;
  embeddingSecret?: string | null;
  settings?: Record<string, unknown>;
  disabled?: boolean;
}

/** What the API shows of a target: never a secret, only whether one is set. */
export interface TargetView {
  id: string;
  slug: string;
  kind: TargetKind;
  name: string;
  baseUrl: string;
  settings: TargetSettings;
  disabled: boolean;
  hasSecret: boolean;
  hasEmbeddingSecret: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * The BI instance's base URL, as the place we redirect to and sign for: absolute http(s), no
 * credentials, query or fragment (we append /auth/sso?..., /jwt?... to it), and no trailing
 * slash. A path is kept (a product served under a sub-path).
 */
export function normaliseBaseUrl(raw: string, problems: string[]): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    problems.push('baseUrl must be an absolute http(s) URL, e.g. https://bi.example.com');
    return raw;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    problems.push('baseUrl must use http or https');
  } else if (u.username || u.password) {
    problems.push('baseUrl must not contain credentials');
  } else if (u.search || u.hash || raw.includes('?') || raw.includes('#')) {
    problems.push('baseUrl must not have a query string or fragment');
  }
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
}

/** Secret strength/shape rules, shared by create and update. Never echoes the value. */
export function checkSecretValue(field: 'secret' | 'embeddingSecret', value: string, problems: string[]): void {
  if (value.length < MIN_SECRET_LENGTH) {
    problems.push(`${field} must be at least ${MIN_SECRET_LENGTH} characters (use the secret the BI product generated)`);
  } else if (value.length > MAX_SECRET_LENGTH) {
    problems.push(`${field} must be at most ${MAX_SECRET_LENGTH} characters`);
  } else if (value.trim() !== value) {
    // The product signs with the exact bytes; a pasted trailing newline would make every token fail.
    problems.push(`${field} must not start or end with whitespace`);
  }
}

/** Which secrets a kind requires or refuses, from its definition in sso/targets/. */
export function checkSecretsForKind(
  def: TargetDefinition,
  s: { secret?: string | null; embeddingSecret?: string | null },
  problems: string[],
): void {
  if (def.secrets.secret === 'required' && !s.secret) problems.push(`secret is required for ${def.kind} targets`);
  if (def.secrets.embeddingSecret === 'unused' && s.embeddingSecret) {
    problems.push(`embeddingSecret is not used by ${def.kind} targets`);
  }
}
