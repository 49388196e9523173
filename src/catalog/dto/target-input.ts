import type { TargetKind, TargetSettings } from '../target.entity';
import type { SecretSpec, TargetDefinition } from '../../products/product-definition';

/** Longer than any product's key; past this it is a pasted file, not a secret. */
export const MAX_SECRET_LENGTH = 1024;

/**
 * Top-level secret fields the API took before secrets became a named map; kept so existing
 * clients work: `{"secret": ..}` is `{"secrets": {"secret": ..}}`, likewise `embeddingSecret`.
 */
export const SECRET_FIELD_ALIASES = ['secret', 'embeddingSecret'] as const;

export interface CreateTargetInput {
  slug: string;
  kind: TargetKind;
  name?: string;
  baseUrl: string;
  /** Secret name -> value, as the product's definition names them. */
  secrets?: Record<string, string>;
  secret?: string;
  embeddingSecret?: string;
  settings?: Record<string, unknown>;
  disabled?: boolean;
}

/**
 * Any field may change. A secret is replaced only when sent; `null` removes an optional one.
 * `settings`, when sent, replaces the whole settings object.
 */
export interface UpdateTargetInput {
  slug?: string;
  kind?: TargetKind;
  name?: string;
  baseUrl?: string;
  secrets?: Record<string, string | null>;
  secret?: string;
  embeddingSecret?: string | null;
  settings?: Record<string, unknown>;
  disabled?: boolean;
}

/** One secret a create or update sent: its name, value (`null` removes it) and the field as sent. */
export interface SentSecret {
  name: string;
  value: string | null;
  /** `secrets.<name>`, or the top-level alias when sent so (messages name what the client wrote). */
  field: string;
}

/** The secrets a create or update names: the `secrets` map plus the top-level aliases (the map wins). */
export function secretsInput(input: { secrets?: Record<string, string | null>; secret?: string; embeddingSecret?: string | null }): SentSecret[] {
  const out = new Map<string, SentSecret>();
  for (const alias of SECRET_FIELD_ALIASES) {
    if (input[alias] !== undefined) out.set(alias, { name: alias, value: input[alias] as string | null, field: alias });
  }
  for (const [name, value] of Object.entries(input.secrets ?? {})) out.set(name, { name, value, field: `secrets.${name}` });
  return [...out.values()];
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
  /** Whether the secret named `secret` is set. */
  hasSecret: boolean;
  /** The names of the secrets that are set (never their values). */
  secretsSet: string[];
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

/**
 * Values that are obviously not a real key: a documentation placeholder ("<JWT shared
 * secret>", "changeme", "your-secret-here", "xxxx"), or so uniform (few distinct characters)
 * that it was typed, not generated. Compared on letters and digits only, lower-cased.
 */
const PLACEHOLDER_WORDS = ['secret', 'password', 'changeme', 'changeit', 'placeholder', 'replaceme', 'example', 'test', 'todo', 'tbd', 'dummy', 'default', 'none', 'null'];
const PLACEHOLDER_PARTS = ['changeme', 'placeholder', 'replaceme', 'yoursecret', 'secrethere', 'xxxx', 'insert', 'redacted'];
const MIN_DISTINCT_CHARACTERS = 6;

export function isPlaceholderSecret(value: string): boolean {
  if (/[<>{}]/.test(value)) return true;
  const bare = value.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (PLACEHOLDER_WORDS.includes(bare) || PLACEHOLDER_PARTS.some((p) => bare.includes(p))) return true;
  return new Set(value).size < MIN_DISTINCT_CHARACTERS;
}

/**
 * Secret strength/shape rules for one named secret of a product. Never echoes the value.
 * The field is named as the API takes it (`secrets.<name>`, or the alias when sent so).
 */
export function checkSecretValue(field: string, value: unknown, spec: SecretSpec, label: string, problems: string[]): void {
  if (typeof value !== 'string') {
    problems.push(`${field} must be a string`);
  } else if (value.trim() !== value) {
    // The product signs with the exact bytes; a pasted trailing newline would make every token fail.
    problems.push(`${field} must not start or end with whitespace`);
  } else if (isPlaceholderSecret(value)) {
    // Named by the words the product's screen uses (the console's label), then the API field.
    problems.push(`${spec.description} (${field}) is an example value, not a real key: paste the secret ${label} generated`);
  } else if (value.length < spec.minLength) {
    problems.push(`${spec.description} (${field}) is too short: at least ${spec.minLength} characters (use the secret ${label} generated)`);
  } else if (value.length > MAX_SECRET_LENGTH) {
    problems.push(`${field} must be at most ${MAX_SECRET_LENGTH} characters`);
  }
}

/**
 * Checks the secrets sent against the product's list: unknown names refused, values checked,
 * `null` only for an optional secret.
 */
export function checkSecretsInput(def: TargetDefinition, sent: SentSecret[], problems: string[]): void {
  for (const { name, value, field } of sent) {
    const spec = def.secrets.find((s) => s.name === name);
    if (!spec) {
      problems.push(`${field} is not used by ${def.kind} targets`);
    } else if (value === null) {
      if (spec.required) problems.push(`${field} is required for ${def.kind} targets and cannot be removed`);
    } else {
      checkSecretValue(field, value, spec, def.label, problems);
    }
  }
}

/** After a change: every required secret of the product is set. */
export function checkRequiredSecrets(def: TargetDefinition, setNames: string[], problems: string[]): void {
  for (const s of def.secrets) if (s.required && !setNames.includes(s.name)) problems.push(`${s.name === 'secret' ? 'secret' : `secrets.${s.name}`} is required for ${def.kind} targets`);
}
