import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { SessionContext } from '../auth/auth.types';
import type { RequestMeta } from '../common/request-meta';
import { badRequest, DomainError, unauthorized } from '../common/errors';
import { IdentitiesService } from '../identities/identities.service';
import { biInstance } from '../identities/instance';
import { identityOwnedElsewhere, mintBase, SsoService } from './sso.service';
import { SsoRepository, TargetWithAccess } from './sso.repository';
import { targetDefinition } from '../products';
import { isKeyPairSigning, type TokenBehaviour } from '../products/product-definition';
import { SsoError } from '../catalog/sso.errors';
import { signJwt } from './signer';
import { SigningKeyCache } from './signing-key-cache';
import { tokenRecordInput } from './token-record';

export interface JsonTokenInput {
  loaded: TargetWithAccess;
  session: SessionContext | null;
  cookie: unknown;
  meta: RequestMeta;
}

export interface TokenLinkInput extends JsonTokenInput {
  resource: string;
  path: string;
  json: boolean;
  /** Our URL's query (a product's link may carry some of it on, e.g. the host page's origin). */
  query?: Readonly<Record<string, unknown>>;
}

/**
 * Tokens a product's browser side takes from the host page (a product's `token` capability):
 * `GET /embed/<target>/token` answers `{token, expiresAt, ...}` (e.g. Tableau's `<tableau-viz
 * token>`), `GET /embed/<target>/<resource>/<path>` sends the browser to the product's URL
 * with the token in it (Sigma). Refusals as for SSO, audited as `token.denied`: unknown or
 * disabled target, an origin not allowed, no session (401; a link without `?response=json`
 * goes to the login page), the session's rate, no access. Each token is minted for this
 * request only (never cached), recorded and audited (`token.issued`, one statement) before
 * it is signed: no record, no token.
 */
@Injectable()
export class JsonTokenService {
  constructor(
    private readonly sso: SsoService,
    private readonly store: SsoRepository,
    private readonly identities: IdentitiesService,
    private readonly keys: SigningKeyCache,
  ) {}

  async json(a: JsonTokenInput): Promise<Record<string, unknown>> {
    const { target } = a.loaded;
    const behaviour = await this.behaviour(a, (t) => !!t.json, `Target ${target.slug} has no token endpoint`);
    const session = await this.signedIn(a);
    if (!session) throw unauthorized(SsoError.NoSession, 'Not signed in: sign in to the identity provider first');
    const { token, exp } = await this.mint(a, session, behaviour, { flow: 'json' });
    return { token, expiresAt: new Date(exp * 1000).toISOString(), ...(behaviour.json!.answer?.(refOf(a.loaded)) ?? {}) };
  }

  async link(a: TokenLinkInput): Promise<{ kind: 'redirect'; url: string } | { kind: 'json'; body: Record<string, unknown> }> {
    const { target } = a.loaded;
    const behaviour = await this.behaviour(a, (t) => !!t.link, `Target ${target.slug} has no token links`);
    const link = behaviour.link!;
    const tenantId = a.session?.tenant.id ?? null;
    if (a.resource !== link.resource) {
      await this.sso.auditRefusal(a.meta, { flow: 'token', tenantId, target: target.slug, reason: 'invalid_embed_kind', details: { kind: a.resource.slice(0, 40) } });
      throw badRequest(SsoError.InvalidEmbedKind, `Embeddable kinds are ${link.resource} (got "${a.resource.slice(0, 40)}")`, { kinds: [link.resource] });
    }
    if (!link.path.test(a.path)) {
      await this.sso.auditRefusal(a.meta, { flow: 'token', tenantId, target: target.slug, reason: 'invalid_id' });
      throw badRequest(SsoError.InvalidId, `"${a.path.slice(0, 80)}" is not a ${link.resource} path${link.prompt ? ` (${link.prompt.label}; e.g. ${link.prompt.example})` : ''}`);
    }
    let options: Record<string, string> = {};
    try {
      options = link.options?.(refOf(a.loaded), a.query ?? {}, a.path) ?? {};
    } catch (e) {
      if (e instanceof DomainError) await this.sso.auditRefusal(a.meta, { flow: 'token', tenantId, target: target.slug, reason: e.code, details: e.details });
      throw e;
    }
    const session = await this.signedIn(a);
    if (!session) {
      if (a.json) throw unauthorized(SsoError.NoSession, 'Not signed in: sign in to the identity provider first');
      const query = Object.keys(options).length ? `?${new URLSearchParams(options)}` : '';
      const here = `/embed/${encodeURIComponent(target.slug)}/${link.resource}/${a.path.split('/').map(encodeURIComponent).join('/')}${query}`;
      return { kind: 'redirect', url: this.sso.loginUrl(here, undefined) };
    }
    const ref = refOf(a.loaded);
    // A product that signs the URL itself (not a JWT): built from the recorded claims with the
    // opened secret (the signer step before the record already refused a target without it).
    // A URL the product checks by its own signature is signed with one of its named secrets.
    if (link.sign && isKeyPairSigning(behaviour.signing)) throw new Error(`${target.kind}: a signed link needs a secret, not a key pair`);
    const name = isKeyPairSigning(behaviour.signing) ? '' : behaviour.signing.secret;
    const signUrl = link.sign
      ? (claims: Record<string, unknown>) => {
          const secret = this.keys.plainFor(target.id, name, target.secrets[name]);
          // Not reached: the signer step opened the same sealed value before the record.
          if (secret === null) throw new DomainError(`target_${name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}_missing`, 409, `Target ${target.slug} has no ${name} configured`, { secret: name });
          return link.sign!({ target: ref, path: a.path, claims, secret, options });
        }
      : undefined;
    const { token, exp } = await this.mint(a, session, behaviour, { flow: a.json ? 'json' : 'redirect', resource: link.resource, path: a.path }, signUrl);
    const url = signUrl ? token : link.url!(ref, a.path, token);
    if (a.json) return { kind: 'json', body: { url, expiresAt: new Date(exp * 1000).toISOString() } };
    return { kind: 'redirect', url };
  }

  /** The product's token capability (the part this route needs), or an audited 400. */
  private async behaviour(a: JsonTokenInput, has: (t: TokenBehaviour) => boolean, message: string): Promise<TokenBehaviour> {
    const token = targetDefinition(a.loaded.target.kind)?.token;
    if (!token || !has(token)) {
      await this.sso.auditRefusal(a.meta, { flow: 'token', tenantId: a.session?.tenant.id ?? null, target: a.loaded.target.slug, reason: 'token_not_supported' });
      throw badRequest(SsoError.TokenNotSupported, message);
    }
    return token;
  }

  /** The session, or null without one (a disabled account's cookie is refused, audited). */
  private async signedIn(a: JsonTokenInput): Promise<SessionContext | null> {
    if (a.session) return a.session;
    await this.sso.refuseDisabledAccount(a.cookie, a.loaded.target.slug, a.meta, { flow: 'token' });
    return null;
  }

  /** The session's rate, the access, then build, record (token + audit), sign. */
  private async mint(
    a: JsonTokenInput,
    session: SessionContext,
    behaviour: TokenBehaviour,
    details: Record<string, unknown>,
    sign?: (claims: Record<string, unknown>) => string,
  ): Promise<{ token: string; exp: number }> {
    const { loaded, meta } = a;
    const { target } = loaded;
    await this.sso.admitHandshake(meta, session, { flow: 'token', target: target.slug });
    const access = await this.sso.requireAccess(loaded, session, meta, { flow: 'token' });
    const signer = await this.sso.signer(target, behaviour.signing);
    const base = mintBase(loaded, access, session);
    const now = Math.floor(Date.now() / 1000);
    const ttl = behaviour.ttlSeconds(target.settings);
    const jti = randomUUID();
    let claims: Record<string, unknown>;
    let email: string | null;
    try {
      // Built before recording: a configuration problem refuses without a record of a token that never existed.
      claims = behaviour.claims({ ...base, iat: now, jti }, now + ttl);
      email = behaviour.identityEmail?.(base) ?? null;
    } catch (e) {
      if (e instanceof DomainError) {
        await this.sso.auditRefusal(meta, { flow: 'token', tenantId: session.tenant.id, target: target.slug, reason: e.code, details: { userId: session.user.id, ...(e.details ?? {}) } });
      }
      throw e;
    }
    // A product that signs people in by email: the token is recorded only if this tenant owns
    // that identity on the instance (README "BI identities"), as for SSO.
    const identity = email ? { instance: biInstance(target.baseUrl) ?? target.baseUrl, email: email.toLowerCase() } : undefined;
    const input = tokenRecordInput({ jti, target, session, meta, now, ttlSeconds: ttl, type: 'token.issued', identity, details });
    let rec = await this.store.record(input);
    // Claimed by a concurrent sign-in of this same tenant after the snapshot: ask again.
    if (!rec.recorded && identity && rec.reason === 'identity_not_owned' && (await this.identities.ownerOf(identity.instance, identity.email)) === session.tenant.id) {
      rec = await this.store.record(input);
    }
    if (!rec.recorded) {
      await this.sso.auditRefusal(meta, { flow: 'token', tenantId: session.tenant.id, target: target.slug, reason: 'identity_owned_elsewhere', details: { userId: session.user.id, ...identity } });
      throw identityOwnedElsewhere();
    }
    if (rec.exp !== now + ttl) claims = behaviour.claims({ ...base, iat: rec.iat, jti }, rec.exp);
    // The claims carry their own iat (the one recorded); the signer keeps it as given.
    const token = sign ? sign(claims) : await signJwt(claims, signer);
    return { token, exp: rec.exp };
  }
}

function refOf(loaded: TargetWithAccess) {
  const { target } = loaded;
  return { id: target.id, slug: target.slug, baseUrl: target.baseUrl, settings: target.settings };
}
