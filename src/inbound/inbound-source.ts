import type { Tenant } from '../tenants/tenant.entity';
import type { Provider, Type } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { HandoffRefusal } from './handoff.errors';

/** A check's outcome: a value, or the refusal (the audit reason) with details for the audit. */
export type Checked<T> = { ok: true; value: T } | { ok: false; reason: HandoffRefusal; detail?: Record<string, unknown>; tenantId?: string };

/** A hand-off token as received, decoded but not verified (header and payload untrusted). */
export interface UnverifiedToken {
  raw: string;
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  /** `iss`, a non-empty string. */
  iss: string;
}

/** The person a verified token names, in our terms (the admin API's fields); checked by the caller. */
export interface HandoffProfile {
  email?: unknown;
  firstName?: unknown;
  lastName?: unknown;
  attributes?: unknown;
  /** Names of the tenant's groups; undefined leaves a known user's groups as they are. */
  groups?: string[];
}

/** What a source hands the shared pipeline once the token is verified. */
export interface VerifiedHandoff {
  /** The id the token is accepted once by, within the tenant (the consumed-assertions key). */
  onceKey: string;
  /**
   * Another key the same token is spent under as well: the one the previous release recorded
   * it by, so that while both releases run (a rolling upgrade) a token spent on either is
   * refused by the other. Either key found taken is a replay.
   */
  previousOnceKey?: string;
  /** For the audit trail: the token's `jti`, or the hash it is known by. */
  jti: string;
  /** Epoch seconds after which the token can no longer be accepted (the consumed row's prune time). */
  exp: number;
  profile: HandoffProfile;
  jitProvisioning: boolean;
  syncGroups: boolean;
}

/** A token a source recognises: the tenant it is for, and how to verify it. */
export interface IdentifiedHandoff {
  /** The tenant's columns a sign-in reads. */
  tenant: Pick<Tenant, 'id' | 'slug' | 'name' | 'attributes' | 'disabled'>;
  /** The name written in the audit trail (`source`). */
  source: string;
  verify(now: number): Promise<Checked<VerifiedHandoff>>;
}

/**
 * An inbound identity source a hand-off can come from (a folder of src/inbound: the hand-off
 * HS256 assertion, a trusted issuer's OIDC token, …). The shared pipeline (HandoffService)
 * asks each in turn; the first that recognises the token's `iss` verifies it.
 */
export interface HandoffSource {
  /**
   * null: not this source's token. A refusal: this source's, but unusable before any key is
   * tried (its audit reason; the client sees what ANSWERED_AS says).
   */
  identify(token: UnverifiedToken): Promise<Checked<IdentifiedHandoff> | null>;
}

/** The Nest token of the ordered list of hand-off sources (wired in inbound.module.ts). */
export const HANDOFF_SOURCES = Symbol('HANDOFF_SOURCES');

/**
 * A way a person signs in at a login page (not a host app's hand-off): the tenant's own
 * identity provider (a folder such as `oidc-upstream/`), or our password form (`password/`).
 * Home-realm discovery (`/login/company`, sign-in-sources.ts) asks each in turn with the
 * email and the tenant owning its domain; the first that takes it says where the browser goes.
 */
export interface SignInSource {
  /** Its name: the session's `openedBy` and the audit's `source`. */
  readonly source: string;
  /** True when the tenant has an identity provider of this kind (its password setting applies only then). */
  hasProvider(tenantId: string): Promise<boolean>;
  /**
   * Where the browser goes to sign in with this email (`tenantId`: the tenant owning its
   * domain, or null), or null when this source does not take it. May set cookies on `res`
   * (e.g. a flow's state). Throws a refusal (a DomainError, audited) when it takes it but cannot start.
   */
  begin(who: { email: string; tenantId: string | null; next: string | null }, req: Request, res: Response): Promise<string | null>;
  /** A link to sign out at the identity provider too, for a session this source opened; null when it has none. */
  endSession(tenantId: string): Promise<{ url: string; name: string } | null>;
}

/** The Nest token of the ordered list of sign-in sources (wired in inbound.module.ts from sources.ts). */
export const SIGN_IN_SOURCES = Symbol('SIGN_IN_SOURCES');

/**
 * An inbound identity source: one folder of src/inbound, listed in sources.ts. Its providers
 * and controllers join the inbound module; its hand-off source (a token the hand-off endpoints
 * take) and its sign-in source (where home-realm discovery sends a person) are asked in the
 * list's order.
 */
export interface InboundSourceFolder {
  name: string;
  providers: Provider[];
  controllers: Type<unknown>[];
  handoff?: Type<HandoffSource>;
  signIn?: Type<SignInSource>;
}
