import type { AccessSettings, GroupMappings } from './product-types';
import type { TargetSettings } from './product-types';
import type { ObjectSchema } from './settings-schema';
import type { ErrorCopy } from '../common/error-pages';
import type { SafeHtml } from '../common/html';

/**
 * Everything about one BI product, in its own file under src/products/, listed once in
 * src/products/index.ts. Shared code (admin API, SSO flow, embeds, token broker, logout,
 * CORS) reads only this interface and never names a product:
 *
 * - `settingsSchema` / `accessSettingsSchema`: the one description of the target's and the
 *   per-tenant access's settings — validation, the OpenAPI description and console forms.
 * - `secrets`: named, write-only, sealed at rest in one map (targets.secrets), so a product
 *   can add a secret without a migration.
 * - capabilities, each optional: JWT SSO (`sso`: as JSON for SDKs, and `sso.redirect` for the
 *   browser redirect), signed embeds (`embed`, with `embed.guest` for a token endpoint the
 *   product's embed script calls), a token broker (`broker`) and a logout URL (`logoutUrl`).
 *   `capabilities` lists which are present (derived by defineTarget).
 * - what people read about it: `setupGuide` (what the operator types into the product's
 *   admin screen, rendered by the console), `errorCopy` (error-page words for the product's
 *   own error codes) and `demo` (a page embedding it with the vendor's SDK).
 */
export interface TargetDefinition {
  kind: string;
  /** Human name, e.g. "Metabase". */
  label: string;
  settingsSchema: ObjectSchema;
  accessSettingsSchema: ObjectSchema;
  /**
   * A valid example of every setting (each schema property appears): the OpenAPI example, a
   * console's placeholder, and what the definitions spec round-trips through the admin API.
   */
  examples: { baseUrl: string; settings: TargetSettings; accessSettings: AccessSettings };
  secrets: SecretSpec[];
  /** Rules across settings the schema cannot say (e.g. two claim names that must differ). */
  checkSettings?(settings: TargetSettings): string[];
  checkAccessSettings?(settings: AccessSettings): string[];
  /** Request headers the product's browser SDK sends cross-origin (answered in CORS preflights). */
  corsRequestHeaders?: string[];
  sso?: SsoBehaviour;
  embed?: EmbedBehaviour;
  broker?: BrokerBehaviour;
  /**
   * A token we sign per request for the product's browser side: as JSON for its SDK
   * (`GET /embed/<target>/token`) and/or in the product's own URL (`link`).
   */
  token?: TokenBehaviour;
  /** A browser URL that ends the product's own session (loaded by our signed-out page). */
  logoutUrl?(ctx: Pick<MintContext, 'target' | 'access'>): string | null;
  /** What the operator enters in the product's own admin screen (the console's Setup panel). */
  setupGuide?(target: SetupTarget, publicUrl: string, productGroups: string[]): SetupGuide;
  /** Error-page words for this product's own error codes (browser routes; JSON keeps the code). */
  errorCopy?: Readonly<Record<string, ErrorCopy>>;
  /** A demo page embedding the product with its vendor's SDK: `/demo/<kind>/<target>/<resource>`. */
  demo?: DemoBehaviour;
  capabilities: Capabilities;
}

/** What a setup guide reads of a target (never its secrets: they are write-only). */
export type SetupTarget = Pick<TargetRef, 'slug' | 'baseUrl' | 'settings'> & {
  /** Names of the secrets already stored (never their values). */
  secretsSet?: readonly string[];
  /** A key-pair target's public keys a product may be given: the one signing and the one published to sign next. */
  publicKeys?: readonly SetupPublicKey[];
};

export interface SetupPublicKey {
  kid: string;
  state: 'active' | 'next';
  /** SPKI PEM. */
  pem: string;
  signsFrom: Date;
}

/** A setup step for a secret the product generates: paste it, or (once stored) that it is set and may be replaced. */
export function secretStep(t: SetupTarget, name: string, label: string, generate: string, field: string): { label: string; note: string } {
  return t.secretsSet?.includes(name)
    ? { label, note: `Set: this target has it. To replace it, generate a new one (${generate}) and paste it into this target's "${field}" below.` }
    : { label, note: `Generate it (${generate}), then paste it into this target's "${field}" below.` };
}

/**
 * What an operator types into the BI product's own admin screen to trust us. Values are
 * exact; secrets are never shown (the operator copies the key the product generated INTO the
 * target, not out of it).
 */
export interface SetupGuide {
  where: string;
  items: { label: string; value?: string; note?: string }[];
}

/**
 * A demo page: the host-app side of an embed, with the vendor's real SDK served from our
 * origin (no CDN: the page's CSP is 'self'). The page's frame (head, CSP, header naming the
 * signed-in user) is shared; the product gives its content and scripts.
 */
export interface DemoBehaviour {
  /** What the last URL segment may be (a dashboard id, a view path...). */
  resource: RegExp;
  /** The page's title and heading. */
  title(resource: string): string;
  /** The content below the header; `base` is PUBLIC_URL's path (for our own URLs). */
  body(v: { target: TargetRef; resource: string; base: string }): SafeHtml;
  /** Module scripts served at /demo/assets/<name> (read on first use); the first is the page's. */
  assets: Record<string, () => string>;
  /** The page's entry script (a key of `assets`). */
  script: string;
  /** Origins the page frames (CSP frame-src). */
  frameOrigins(target: TargetRef): string[];
  /** The SDK calls those origins from the page itself (CSP connect-src), e.g. to sign in. */
  connectsToProduct?: boolean;
  /** Origins the page's own script calls (CSP connect-src) when it frames nothing there. */
  connectOrigins?(target: TargetRef): string[];
}

/**
 * A token signed per request (never cached) for the product's browser side, recorded in the
 * ledger and audited (`token.issued`) before it leaves, like every token.
 */
export interface TokenBehaviour {
  signing: Signing;
  ttlSeconds(settings: TargetSettings): number;
  /** The JWT payload (iat, exp and jti included). Throws a DomainError (4xx) for a configuration problem. */
  claims(ctx: MintContext, exp: number): Record<string, unknown>;
  /**
   * The email the product keys the user by, when it signs people in by it: the token is then
   * recorded only if this tenant owns that identity on the instance (as for SSO).
   */
  identityEmail?(ctx: Omit<MintContext, 'iat' | 'jti'>): string | null;
  /**
   * `GET /embed/<target>/token` answers `{token, expiresAt}` and these fields (e.g. the URL
   * the product's SDK must talk to); absent: no JSON token endpoint.
   */
  json?: { answer?(target: TargetRef): Record<string, unknown> };
  /**
   * `GET /embed/<target>/<resource>/<path>` redirects to the product's URL carrying the token
   * (`?response=json`: `{url, expiresAt}`).
   */
  link?: TokenLink;
}

/**
 * A product URL carrying what we sign: our JWT in it (`url`), or — for a product that checks
 * its own signature over the URL's parameters (Looker's signed embed URL) — the URL itself
 * built from the claims and signed with the opened secret `signing.secret` names (`sign`).
 */
export type TokenLink = TokenLinkBase & (
  | { url(target: TargetRef, path: string, token: string): string; sign?: never }
  | { sign(v: { target: TargetRef; path: string; claims: Record<string, unknown>; secret: string; options: Record<string, string> }): string; url?: never }
);

export interface TokenLinkBase {
  resource: string;
  /** What a path may be (one or more segments; checked before anything is signed). */
  path: RegExp;
  /** What the console's "Try it" asks for: a label and an example path. */
  prompt?: { label: string; example: string };
  /**
   * Query parameters of our URL the product's URL carries on (e.g. the host page's origin),
   * checked before anything is signed: what to pass to `sign`, or a DomainError (a 400, audited).
   */
  options?(target: TargetRef, query: Readonly<Record<string, unknown>>, path: string): Record<string, string>;
}

export interface Capabilities {
  ssoRedirect: boolean;
  ssoJson: boolean;
  signedEmbed: boolean;
  guestEmbed: boolean;
  tokenBroker: boolean;
  jsonToken: boolean;
  tokenLink: boolean;
  logoutUrl: boolean;
  demo: boolean;
}

export interface SecretSpec {
  /** The key in the API's `secrets` object (and in the sealed map). */
  name: string;
  required: boolean;
  description: string;
  /** Refused when shorter: an HMAC key this short is guessable offline from one token. */
  minLength: number;
}

/** The asymmetric JWS algorithms we sign with (RFC 7518 §3.3 RSASSA-PKCS1-v1_5, §3.4 ECDSA P-256). */
export type AsymmetricAlg = 'RS256' | 'ES256';
export const ASYMMETRIC_ALGS: readonly AsymmetricAlg[] = ['RS256', 'ES256'];

/**
 * How a product's JWTs are signed: HS256 with one of its named secrets, or with a key pair
 * embed-idp generates per target (the product verifies with our JWKS or a pasted PEM).
 */
export type Signing = SecretSigning | KeyPairSigning;

export interface SecretSigning {
  alg: 'HS256';
  /** A SecretSpec name. */
  secret: string;
  /** JOSE header fields besides alg (and typ: JWT), built per target (e.g. a per-target kid). */
  header(target: TargetRef): Record<string, string>;
}

export interface KeyPairSigning {
  /**
   * The algorithm of the key pairs generated for this target (a setting for a product that
   * takes either). A key signs with the algorithm it was made for: a changed setting takes
   * effect with the next key (rotation).
   */
  keyPair(settings: TargetSettings): AsymmetricAlg;
  /** JOSE header fields besides alg, typ and kid (the kid is the signing key's). */
  header(target: TargetRef): Record<string, string>;
}

export function isKeyPairSigning(s: Signing): s is KeyPairSigning {
  return typeof (s as KeyPairSigning).keyPair === 'function';
}

type Flat = Record<string, string | number | boolean>;
export type TargetRef = { id: string; slug: string; baseUrl: string; settings: TargetSettings };

/** Everything a product file needs to build its token; loaded in one query by the SSO flow. */
export interface MintContext {
  target: TargetRef;
  access: { groupMappings: GroupMappings; attributes: Flat; settings: AccessSettings };
  tenant: { id: string; slug: string; name: string; attributes: Flat };
  user: { id: string; email: string; firstName: string; lastName: string; attributes: Flat };
  /** The user's local group names (mapped through access.groupMappings by the product file). */
  groups: string[];
  /** Issued-at, integer seconds (already sequenced when iatSequence is set). */
  iat: number;
  /** Unique token id (uuid), recorded in issued_tokens before the token leaves. */
  jti: string;
}

export interface SsoBehaviour {
  signing: Signing;
  /**
   * Set for products that deny an iat not later than the user's previous one (Sisense): the
   * flow issues iat = max(now, last + 1) per key (the product's user) atomically in Postgres.
   */
  iatSequence?(ctx: Omit<MintContext, 'iat' | 'jti'>): { scope: string; subject: string };
  /** Token lifetime in seconds for this target. */
  ttlSeconds(settings: TargetSettings): number;
  /** The JWT payload (iat, exp and jti included). */
  claims(ctx: MintContext, exp: number): Record<string, unknown>;
  /** `?response=json` answers `{jwt}` (an SDK fetching cross-origin with credentials). */
  json: boolean;
  /**
   * The email the product keys the user by (the user's, or a shared account's): who this
   * tenant must own on the BI instance before a token for it is recorded (sso/identities).
   */
  identityEmail(ctx: Omit<MintContext, 'iat' | 'jti'>): string;
  /**
   * "One BI account per client": the email every user of the tenant signs in as, when the
   * access says so (the one-email-per-BI-instance check then does not apply).
   */
  sharedAccountEmail?(access: AccessSettings): string | null;
  /** The browser redirect; absent for a product that only takes tokens as JSON. */
  redirect?: {
    /**
     * Normalises the return_to the product sent (already reassembled from the query string),
     * or returns null when it must be refused (not relative / not on an allowed origin).
     */
    normaliseReturnTo(raw: string | undefined, target: TargetRef): string | null;
    /** Where the browser goes with the token. */
    url(ctx: Pick<MintContext, 'target' | 'access'>, jwt: string, returnTo: string): string;
  };
}

/** What a signed embed is built from (no jti/iat: the product's embed token carries neither). */
export type EmbedContext = Pick<MintContext, 'target' | 'access' | 'tenant' | 'user'>;

/**
 * An embeddable resource's id as the product signs it: a JSON number (e.g. a Metabase numeric
 * id) or a JSON string (e.g. a Metabase entity ID). Products treat the two differently — a
 * string is looked up as an entity ID — so the form asked for is the form signed.
 */
export type ResourceId = number | string;

/** One form a product's resource ids take; the first form whose pattern matches wins. */
export interface ResourceIdForm {
  /** Matched against the whole id as written in the URL or the JSON body. */
  pattern: RegExp;
  /** How it is signed: 'number' forms must also be safe integers. */
  as: 'number' | 'string';
}

export interface ResourceIds {
  forms: readonly ResourceIdForm[];
  /** For an error message: "The dashboard id must be <description>". */
  description: string;
  /** The JSON-schema pattern of the same forms, for allow-lists of ids in access settings. */
  schemaPattern: string;
}

/**
 * The id as the product signs it, or null when it is none of the product's forms. A JSON
 * number from a request body only matches a 'number' form; a string may match either (an id
 * in a URL is always a string).
 */
export function parseResourceId(ids: ResourceIds, raw: unknown): ResourceId | null {
  if (typeof raw === 'number') {
    if (!Number.isSafeInteger(raw)) return null;
    const text = String(raw);
    return ids.forms.some((f) => f.as === 'number' && f.pattern.test(text)) ? raw : null;
  }
  if (typeof raw !== 'string') return null;
  for (const f of ids.forms) {
    if (!f.pattern.test(raw)) continue;
    if (f.as === 'string') return raw;
    const n = Number(raw);
    if (Number.isSafeInteger(n)) return n;
  }
  return null;
}

export interface EmbedBehaviour {
  signing: Signing;
  /** Resource kinds as they appear in our URL, /embed/<target>/<kind>/<id>. */
  resources: readonly string[];
  /** The forms an <id> takes (the URL's, and the guest-token body's entityId). */
  resourceIds: ResourceIds;
  /** Embed token lifetime in seconds for this target. */
  ttlSeconds(settings: TargetSettings): number;
  /**
   * The token payload for resource `kind` with `id` (as parseResourceId gave it: sign it in
   * that form), expiring at `exp` (epoch seconds).
   * Throws a DomainError (4xx) naming what is missing, e.g. a locked parameter's value.
   */
  payload(ctx: EmbedContext, kind: string, id: ResourceId, exp: number): Record<string, unknown>;
  /** The iframe URL for a signed token. */
  url(target: TargetRef, kind: string, token: string): string;
  /**
   * A token endpoint the product's embed script calls from the host page (with cookies) for
   * an entity the browser names: `allowed` says whether the tenant's access lists it.
   */
  guest?: { allowed(access: MintContext['access'], kind: string, id: ResourceId): boolean };
}

/** A broker exchanges our user's identity for a product-issued token (nothing signed by us). */
export interface BrokerBehaviour {
  /** What a resource id looks like in /embed/<target>/<kind>/<id>/token. */
  resourceId: RegExp;
  /**
   * The URL's last segment: `token` (the default, GET) or `guest-token` (GET and POST, for an
   * SDK callback such as Superset's fetchGuestToken), `/embed/<target>/<kind>/<id>/<endpoint>`.
   */
  endpoint?: 'token' | 'guest-token';
  /** One broker per process (it may cache what can be shared, e.g. a service token). */
  create(deps: BrokerDeps): Broker;
  /** URLs in the settings the broker calls besides the base URL: checked like it when saved. */
  outboundUrls?(settings: TargetSettings): { field: string; url: string }[];
  /**
   * What the broker would send or sign for this user (the console's Try it), built by the
   * code the mint uses; nothing is signed or asked. Throws a DomainError as the mint would.
   */
  preview?(ctx: Omit<MintContext, 'iat' | 'jti'> & Partial<Pick<MintContext, 'iat' | 'jti'>>): Record<string, unknown>;
}

export interface BrokerDeps {
  /** fetch, with a timeout per step enforced by the broker. */
  fetch: typeof fetch;
  timeoutMs: number;
}

export interface BrokerRequest {
  target: TargetRef;
  /** The opened secrets (never logged, never put in an error). */
  secrets: Record<string, string>;
  /** Identifies the sealed secrets: a cache must not outlive a changed secret. */
  secretsVersion: string;
  ctx: Omit<MintContext, 'iat' | 'jti'>;
  resourceId: string;
  /** A stable opaque id of the user for this target (no email, no PII). */
  viewerId: string;
  /** The jti the ledger records for this token (a broker that signs puts it in the token). */
  jti?: string;
  /** Our clock, integer epoch seconds: the ledger's iat. */
  now?: number;
}

export interface BrokerMint {
  /** The JSON answer for the browser. */
  body: Record<string, unknown>;
  /** The token's lifetime (s): its ledger row's exp. */
  expiresIn: number;
  /** The product's own id of the token (a UUID), recorded as its jti; absent: we make one. */
  jti?: string;
  /** Facts for the audit event (never the token). */
  audit?: Record<string, unknown>;
}

export interface Broker {
  /** The JSON answer for the browser and the token's lifetime. Throws DomainErrors. */
  mint(r: BrokerRequest): Promise<BrokerMint>;
}

/** The key-pair signing of a product, if any of its tokens is signed that way (keys are generated for its targets). */
export function keyPairSigningOf(d: Pick<TargetDefinition, 'sso' | 'embed' | 'token'>): KeyPairSigning | null {
  for (const s of [d.sso?.signing, d.embed?.signing, d.token?.signing]) if (s && isKeyPairSigning(s)) return s;
  return null;
}

/** A definition with its capability flags derived from what it implements. */
export function defineTarget<T extends Omit<TargetDefinition, 'capabilities'>>(d: T): T & { capabilities: Capabilities } {
  return {
    ...d,
    capabilities: {
      ssoRedirect: !!d.sso?.redirect,
      ssoJson: !!d.sso?.json,
      signedEmbed: !!d.embed,
      guestEmbed: !!d.embed?.guest,
      tokenBroker: !!d.broker,
      jsonToken: !!d.token?.json,
      tokenLink: !!d.token?.link,
      logoutUrl: !!d.logoutUrl,
      demo: !!d.demo,
    },
  };
}

/** An attribute name as products send it as a claim (letters, digits, _ . -; at most 100). */
export const ATTRIBUTE_NAME = '^[A-Za-z_][A-Za-z0-9_.-]{0,99}$';

/** Shared string schemas the product files compose their settings from. */
export const schemas = {
  /** The attributes an access sends (resolved access > user > tenant); none when unset or empty. */
  userAttributes: (description: string) => ({
    type: 'array' as const,
    title: 'User attributes sent',
    description,
    maxItems: 50,
    items: { type: 'string' as const, pattern: ATTRIBUTE_NAME, 'x-pattern-message': 'an attribute name (letters, digits, _ . -; at most 100)' },
    'x-allow-list': { unset: 'none' as const },
  }),
  claimName: (description: string) => ({
    type: 'string' as const,
    description,
    pattern: '^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$',
    'x-pattern-message': 'a claim name (letters, digits, _ . : -; at most 64)',
  }),
  allowedOrigins: (description: string) => ({
    type: 'array' as const,
    title: 'Allowed origins',
    description,
    maxItems: 50,
    items: { type: 'string' as const, format: 'origin' as const, maxLength: 300 },
    'x-allow-list': { unset: 'none' as const },
  }),
  /** One product account every user of the tenant signs in as (the product keys it by email). */
  sharedAccount: (product: string) => ({
    type: 'object' as const,
    title: 'Shared account',
    description: `Every user of the tenant signs in as this one ${product} account`,
    properties: {
      email: { type: 'string' as const, format: 'email' as const, maxLength: 254 },
      firstName: { type: 'string' as const, maxLength: 100 },
      lastName: { type: 'string' as const, maxLength: 100 },
    },
    required: ['email'],
    additionalProperties: false as const,
  }),
  logoutLandingUrl: () => ({
    type: 'string' as const,
    title: 'Logout landing URL',
    description: 'A page our logout may send users back to',
    format: 'uri' as const,
    maxLength: 2048,
  }),
};
