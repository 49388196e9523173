import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AuditService } from '../audit/audit.service';
import type { SessionContext } from '../auth/auth.types';
import type { RequestMeta } from '../common/request-meta';
import { DomainError, forbidden } from '../common/errors';
import { isSlug } from '../common/identifiers';
import { basePathOf } from '../common/redirects';
import { InjectConfig } from '../config/config.module';
import { Config } from '../config/configuration';
import { SessionsService } from '../auth/sessions.service';
import { IdentitiesService } from '../identities/identities.service';
import { biInstance } from '../identities/instance';
import { iatSequenceAhead } from './iat-sequence';
import type { HandoffSubject } from '../inbound/handoff.service';
import type { SsoQuery } from './return-to';
import { SigningKeyCache } from './signing-key-cache';
import { HandshakeLimiter, ShareReservation, TooManyHandshakes } from './handshake-limit';
import { SsoRepository, TargetWithAccess } from './sso.repository';
import { targetDefinition } from '../products';
import { isKeyPairSigning, type MintContext, type Signing } from '../products/product-definition';
import { Signer, signJwt } from './signer';
import { TargetKeyring } from './target-keyring';
import { SsoError } from '../catalog/sso.errors';
import { tokenRecordInput } from './token-record';
import { HandshakeState, runHandshakeSteps, SsoFlow, SsoRefusal, StepDeps, TARGET_STEPS, ACCESS_STEP } from './handshake-steps';
import { fieldLabel } from '../common/validation-messages';

export type { SsoFlow, SsoRefusal } from './handshake-steps';

export type SsoOutcome =
  /** 302 to the BI product (with a token) or to our login page. */
  | { kind: 'redirect'; url: string }
  /** 200 JSON (the Embedding SDK's `{jwt}`, a signed embed's `{url, expiresAt}`). */
  | { kind: 'json'; body: Record<string, unknown> };

export interface HandshakeInput {
  slug: string;
  /** Null when there is no such target (the first step refuses it). */
  loaded: TargetWithAccess | null;
  session: SessionContext | null;
  query: SsoQuery;
  /** `?response=json`: the Embedding SDK wants `{jwt}`, and a JSON 401 without a session. */
  json: boolean;
  /** The raw session cookie, to explain a session that did not resolve (disabled account). */
  cookie: unknown;
  meta: RequestMeta;
  /** The CORS check of a JSON answer (the full pipeline's; throws after auditing). */
  checkOrigin?: () => Promise<void>;
}


/**
 * The identity the BI tool would see belongs to another tenant on that instance. Says no
 * more than that: neither who owns it nor since when (the audit event has the detail).
 */
export const identityOwnedElsewhere = () =>
  new DomainError(
    SsoError.IdentityConflict,
    409,
    'This account cannot be signed in to this BI tool: its email is not assigned to your organization there. Ask your administrator',
  );

/**
 * The SSO flow, product-agnostic: what differs per BI product (claims, redirect, return_to
 * rules) comes from its file in src/products/. The hot path (sso-fast-path.ts) is two
 * statements, each shared by concurrent handshakes (group commit): the session with the
 * target, access and groups, and one statement recording token + audit event + the session's
 * use of the target (through the full pipeline the session is read by the guard, the target
 * on its own). Only after the record succeeded is the token signed and sent: a failed write
 * means no token leaves.
 */
@Injectable()
export class SsoService implements StepDeps {
  private readonly basePath: string;

  constructor(
    private readonly store: SsoRepository,
    private readonly keys: SigningKeyCache,
    private readonly keyring: TargetKeyring,
    private readonly audit: AuditService,
    private readonly identities: IdentitiesService,
    private readonly sessions: SessionsService,
    private readonly limiter: HandshakeLimiter,
    @InjectConfig('app') app: Config<'app'>,
  ) {
    this.basePath = basePathOf(app.publicUrl);
  }

  /** The target (with this session's access and groups); unknown or disabled: refused, audited. */
  async requireTarget(slug: string, session: SessionContext | null, meta: RequestMeta, { flow = 'sso' }: AuditedAs = {}): Promise<TargetWithAccess> {
    const loaded = await this.store.load(slug, session?.tenant.id ?? null, session?.user.id ?? null);
    await runHandshakeSteps({ flow, slug, tenantId: session?.tenant.id ?? null, loaded, json: false, returnToAsked: undefined, session, meta }, this, TARGET_STEPS);
    return loaded!;
  }

  /**
   * GET /sso/<target>: the JWT SSO handshake (redirect, or `{jwt}` for the Embedding SDK).
   * Its refusals are HANDSHAKE_STEPS, in order; then the token is built, recorded and signed.
   */
  async handshake(a: HandshakeInput): Promise<SsoOutcome> {
    const { session, meta } = a;
    const state: HandshakeState = {
      flow: 'sso',
      slug: a.slug,
      tenantId: session?.tenant.id ?? null,
      loaded: a.loaded,
      json: a.json,
      returnToAsked: a.query.returnTo,
      tenantHint: a.query.tenant,
      session,
      cookie: a.cookie,
      meta,
      checkOrigin: a.checkOrigin,
    };
    const answer = await runHandshakeSteps(state, this);
    if (answer) return answer;
    const loaded = a.loaded!;
    const { target } = loaded;
    const sso = state.sso!;
    const access = state.access!;
    const returnTo = state.returnTo!;
    if (!session) throw new Error('the handshake steps let a request without a session through');
    const key = await this.signer(target, sso.signing);

    const base = mintBase(loaded, access, session);
    const now = Math.floor(Date.now() / 1000);
    const jti = randomUUID();
    const ttl = sso.ttlSeconds(target.settings);
    // Built before recording, so a configuration problem (e.g. a bad Metabase tenant slug)
    // refuses the request without leaving a record of a token that never existed.
    const claims = sso.claims({ ...base, iat: now, jti }, now + ttl);
    const shared = sso.sharedAccountEmail?.(access.settings) ?? null;
    // The BI tool keys its users by this email alone (the user's, or the shared account's):
    // the token is recorded only if this tenant owns it on this instance (README "BI identities").
    const identity = { instance: biInstance(target.baseUrl) ?? target.baseUrl, email: sso.identityEmail(base).toLowerCase() };
    const iatKey = sso.iatSequence?.(base);
    // A shared sequence (Sisense): this session's fair share of the lead (HandshakeLimiter).
    let share: ShareReservation | null = null;
    if (iatKey) {
      const reserved = this.limiter.reserveShare(`${iatKey.scope}\n${iatKey.subject.toLowerCase()}`, session.id, now);
      if (!('settle' in reserved)) {
        await this.refuseTooMany(meta, session, { flow: 'sso', target: target.slug, reason: 'iat_share_exceeded' }, reserved.retryAfterSeconds);
      } else share = reserved;
    }
    try {
      return await this.mintRecorded({ a, loaded, sso, base, access, key, claims, now, jti, ttl, shared, identity, iatKey, returnTo, share });
    } catch (e) {
      share?.settle(null);
      throw e;
    }
  }

  /** The handshake's record and signature (after every check), settling the sequence share. */
  private async mintRecorded(m: {
    a: HandshakeInput;
    loaded: TargetWithAccess;
    sso: NonNullable<ReturnType<typeof targetDefinition>>['sso'] & object;
    base: Omit<MintContext, 'iat' | 'jti'>;
    access: NonNullable<TargetWithAccess['access']>;
    key: Signer;
    claims: Record<string, unknown>;
    now: number;
    jti: string;
    ttl: number;
    shared: string | null;
    identity: { instance: string; email: string };
    iatKey: { scope: string; subject: string } | undefined;
    returnTo: string;
    share: ShareReservation | null;
  }): Promise<SsoOutcome> {
    const { a, loaded, sso, base, access, key, now, jti, ttl, shared, identity, iatKey, returnTo } = m;
    const { meta } = a;
    const session = a.session!;
    const { target } = loaded;
    let claims = m.claims;
    const input = tokenRecordInput({
      jti, target, session, meta, now, ttlSeconds: ttl, type: 'sso.token_issued', iatKey, identity, markSessionTarget: true,
      details: { flow: a.json ? 'json' : 'redirect', ...(shared ? { sharedAccount: shared } : {}) },
    });
    const record = () => this.store.record(input);
    let rec = await record();
    // Claimed by a concurrent sign-in of this same tenant after our snapshot: ask again.
    if (!rec.recorded && rec.reason === 'identity_not_owned' && (await this.identities.ownerOf(identity.instance, identity.email)) === session.tenant.id) {
      rec = await record();
    }
    if (!rec.recorded && rec.reason === 'identity_not_owned') {
      await this.auditRefusal(meta, { flow: 'sso', tenantId: session.tenant.id, target: target.slug, reason: 'identity_owned_elsewhere', details: { userId: session.user.id, instance: identity.instance, email: identity.email } });
      throw identityOwnedElsewhere();
    }
    if (!rec.recorded) {
      await this.auditRefusal(meta, { flow: 'sso', tenantId: session.tenant.id, target: target.slug, reason: 'iat_sequence_ahead', details: { userId: session.user.id } });
      throw iatSequenceAhead();
    }
    m.share?.settle(rec.iat);
    // A sequenced iat (Sisense) may be ahead of the clock: the token carries what was recorded.
    if (rec.iat !== now || rec.exp !== now + ttl) claims = sso.claims({ ...base, iat: rec.iat, jti }, rec.exp);
    // The key was imported once per target (signing-key-cache.ts, target-keyring.ts).
    const jwt = await signJwt(claims, key);
    if (a.json || !sso.redirect) return { kind: 'json', body: { jwt } };
    return { kind: 'redirect', url: sso.redirect.url({ target, access }, jwt, returnTo) };
  }

  /**
   * One handshake of the session's rate (HandshakeLimiter; no database round trip), unless
   * the SSO fast path already spent it for this request. Past the rate: 429 with Retry-After,
   * audited at most once per session per window.
   */
  async admitHandshake(meta: RequestMeta, session: SessionContext, at: { flow: SsoFlow; target: string }): Promise<void> {
    if (meta.handshakeCharged) return;
    const wait = this.limiter.take(session.id);
    if (wait > 0) await this.refuseTooMany(meta, session, { ...at, reason: 'too_many_handshakes' }, wait);
  }

  /** A per-session limit's refusal: audited within the limiter's budget, then a 429. */
  private async refuseTooMany(meta: RequestMeta, session: SessionContext, r: { flow: SsoFlow; target: string; reason: string }, retryAfterSeconds: number): Promise<never> {
    // Deferred (fast path): the full pipeline audits it if it is the one to write.
    if (meta.deferRefusals && this.limiter.auditDue(session.id)) throw new RefusalDeferred(r.reason);
    const { audit, notAuditedBefore } = this.limiter.refusal(session.id);
    if (audit) {
      await this.audit.recordRefusal(meta, {
        type: `${r.flow}.denied`,
        tenantId: session.tenant.id,
        details: { target: r.target, reason: r.reason, userId: session.user.id, ...(notAuditedBefore ? { notAuditedBefore } : {}) },
      });
    }
    throw new TooManyHandshakes(retryAfterSeconds);
  }

  /**
   * Before a host-app hand-off creates anything for `who`: the target, the tenant's access to
   * it, the identity rule and (for a browser) return_to — the refusals the handshake would
   * give, given first, so a refused hand-off leaves no user and no session.
   */
  async precheckHandoff(slug: string, who: HandoffSubject, returnTo: string | undefined, json: boolean, meta: RequestMeta, checkOrigin?: (loaded: TargetWithAccess) => Promise<void>): Promise<TargetWithAccess> {
    const tenantId = who.tenant.id;
    // With a known user's id: their groups too, so the handshake that follows can reuse this read;
    // and who owns the user's email on each BI instance (the identity most products present).
    const guess = who.user.email.toLowerCase();
    const read = await this.store.loadForHandoff(slug, tenantId, who.user.id || null, guess);
    const loaded = read?.loaded ?? null;
    const state: HandshakeState = { flow: 'handoff', slug, tenantId, loaded, json, returnToAsked: returnTo, session: null, meta, checkOrigin: checkOrigin && (() => checkOrigin(loaded!)) };
    await runHandshakeSteps(state, this);
    const sso = state.sso!;
    const access = state.access!;
    // The identity the handshake will present, as the product defines it (the user's email,
    // or a shared account's): owned by another tenant on this instance, it would be refused
    // there — refused here, before a user or a session exists. (Unowned: the handshake's
    // record claims it.) The user's groups do not change who the product sees.
    const ctx = { ...mintBaseFor(loaded!, access, who), groups: [] };
    const instance = biInstance(loaded!.target.baseUrl) ?? loaded!.target.baseUrl;
    const identity = sso.identityEmail(ctx).toLowerCase();
    // Read with the target when the identity is the user's email; another (a shared account): asked now.
    const owner = identity === guess ? (read!.owners[instance] ?? null) : await this.identities.ownerOf(instance, identity);
    if (owner !== null && owner !== tenantId) {
      await this.auditRefusal(meta, { flow: 'handoff', tenantId, target: slug, reason: 'identity_owned_elsewhere', details: { instance, email: identity } });
      throw identityOwnedElsewhere();
    }
    return loaded!;
  }

  /** The tenant's access to the target; without it: 403, audited, nothing minted (the handshake's own step). */
  async requireAccess(loaded: TargetWithAccess, session: SessionContext, meta: RequestMeta, { flow = 'sso' }: AuditedAs = {}): Promise<NonNullable<TargetWithAccess['access']>> {
    const state: HandshakeState = { flow, slug: loaded.target.slug, tenantId: session.tenant.id, loaded, json: false, returnToAsked: undefined, session, meta };
    await runHandshakeSteps(state, this, [ACCESS_STEP]);
    return state.access!;
  }

  /**
   * A cookie whose session is valid but whose user or tenant is disabled: a clear refusal
   * (audited), not a login page the visitor cannot get past.
   */
  async refuseDisabledAccount(cookie: unknown, slug: string, meta: RequestMeta, { flow = 'sso' }: AuditedAs = {}): Promise<void> {
    if (!cookie) return;
    const blocked = await this.sessions.disabledAccount(cookie);
    if (!blocked) return;
    await this.auditRefusal(meta, { flow, tenantId: blocked.tenantId, target: slug, reason: blocked.reason, details: { userId: blocked.userId } });
    throw forbidden(SsoError.AccountDisabled, 'Your account or your organization is disabled');
  }

  /**
   * Our login page, coming back to `next` once signed in. `next` is a path of this app
   * ('/sso/..'); both get PUBLIC_URL's base path, as the login page wants a path on this host.
   * The organization is preset only from an explicit `?tenant=` in the IdP URI: guessing it
   * from which tenants use the target would tell an anonymous visitor who our customers are.
   */
  loginUrl(next: string, tenantHint: string | undefined): string {
    const tenant = isSlug(tenantHint) ? tenantHint : null;
    const query = `${tenant ? `tenant=${encodeURIComponent(tenant)}&` : ''}next=${encodeURIComponent(this.basePath + next)}`;
    return `${this.basePath}/login?${query}`;
  }

  /**
   * What the target's tokens are signed with: its named secret (HS256), or its key pair that
   * signs now (RS256/ES256, `kid` in the header). Missing: a configuration error (409).
   */
  async signer(target: TargetWithAccess['target'], signing: Signing): Promise<Signer> {
    if (isKeyPairSigning(signing)) {
      const k = await this.keyring.signingKey(target.id);
      if (!k) throw new DomainError(SsoError.TargetNoSigningKey, 409, `Target ${target.slug} has no signing key: rotate its keys`);
      return { alg: k.alg, key: k.key, header: { ...signing.header(target), kid: k.kid } };
    }
    const secretName = signing.secret;
    const key = this.keys.keyFor(target.id, secretName, target.secrets[secretName]);
    if (!key) throw new DomainError(`target_${secretName.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}_missing`, 409, `Target ${target.slug} has no ${fieldLabel(secretName).toLowerCase()} set: an operator sets it on the target's page`, { secret: secretName });
    return { alg: signing.alg, key: await key, header: signing.header(target) };
  }

  /**
   * Records a refusal as `<flow>.denied` (it refuses nothing itself: the caller throws).
   * Anonymous refusals are audited within a budget (AuditService.recordRefusal).
   */
  async auditRefusal(meta: RequestMeta, r: SsoRefusal): Promise<void> {
    if (meta.deferRefusals) throw new RefusalDeferred(r.reason);
    await this.audit.recordRefusal(meta, { type: `${r.flow}.denied`, tenantId: r.tenantId, details: { target: r.target, reason: r.reason, ...r.details } });
  }
}

/**
 * Thrown instead of auditing a refusal when the request asked for it (RequestMeta
 * deferRefusals: the SSO fast path), before anything was written: the full pipeline then
 * handles the request from the start.
 */
export class RefusalDeferred extends Error {
  constructor(readonly reason: string) {
    super(`refusal deferred to the full pipeline: ${reason}`);
  }
}

/** Which flow a refusal is audited under (only the audit event reads it); 'sso' when not given. */
export interface AuditedAs {
  flow?: SsoFlow;
}

/** What a product file builds its token from (everything but iat and jti). */
export function mintBase(
  loaded: TargetWithAccess,
  access: NonNullable<TargetWithAccess['access']>,
  session: SessionContext,
): Omit<MintContext, 'iat' | 'jti'> {
  return { ...mintBaseFor(loaded, access, session), groups: loaded.groups };
}

function mintBaseFor(
  loaded: TargetWithAccess,
  access: NonNullable<TargetWithAccess['access']>,
  who: Pick<SessionContext, 'tenant' | 'user'>,
): Omit<MintContext, 'iat' | 'jti' | 'groups'> {
  const { target } = loaded;
  return {
    target: { id: target.id, slug: target.slug, baseUrl: target.baseUrl, settings: target.settings },
    access: { groupMappings: access.groupMappings, attributes: access.attributes, settings: access.settings },
    tenant: who.tenant,
    user: who.user,
  };
}
