import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { SessionContext } from '../auth/auth.types';
import type { RequestMeta } from '../common/request-meta';
import { badRequest, DomainError, forbidden, unauthorized } from '../common/errors';
import { mintBase, SsoOutcome, SsoService } from './sso.service';
import { SsoRepository, TargetWithAccess } from './sso.repository';
import { targetDefinition } from '../products';
import { EmbedBehaviour, parseResourceId, ResourceId } from '../products/product-definition';
import { SsoError } from '../catalog/sso.errors';
import { signJwt } from './signer';
import { tokenRecordInput } from './token-record';

export interface EmbedInput {
  loaded: TargetWithAccess;
  kind: string;
  id: string;
  session: SessionContext | null;
  json: boolean;
  cookie: unknown;
  meta: RequestMeta;
}

export interface GuestTokenInput {
  loaded: TargetWithAccess;
  body: unknown;
  session: SessionContext | null;
  cookie: string | undefined;
  meta: RequestMeta;
}

/** embed.js passes the host page's custom-context through; we read nothing from it. */
const MAX_CUSTOM_CONTEXT = 4096;

/**
 * Signed ("static") embeds: an iframe URL whose token, signed with the embedding secret,
 * names one dashboard or question and locks its parameters to the signed-in user's values.
 * Recorded and audited like SSO tokens (issued_tokens + embed.issued, one statement), then
 * signed. No session is opened in the BI tool, so the session's targets_used is left alone.
 *
 * Guest-embed tokens are the same token, asked for by the product's embed script with the
 * entity named in a JSON body: only an entity the tenant's access lists is signed.
 */
@Injectable()
export class EmbedService {
  constructor(
    private readonly sso: SsoService,
    private readonly store: SsoRepository,
  ) {}

  async issue(a: EmbedInput): Promise<SsoOutcome> {
    const { loaded, session, meta } = a;
    const { target } = loaded;
    const embed = targetDefinition(target.kind)?.embed;
    if (!embed) {
      await this.sso.auditRefusal(meta, { flow: 'embed', tenantId: session?.tenant.id ?? null, target: target.slug, reason: 'embed_not_supported' });
      throw badRequest(SsoError.EmbedNotSupported, `Target ${target.slug} has no signed embeds`);
    }
    if (!embed.resources.includes(a.kind)) {
      throw badRequest(SsoError.InvalidEmbedKind, `Embeddable kinds are ${embed.resources.join(', ')} (got "${a.kind.slice(0, 40)}")`, {
        kinds: embed.resources,
      });
    }
    // Only the forms the product states; "1e3" or "01" is refused, not guessed at.
    const id = parseResourceId(embed.resourceIds, a.id);
    if (id === null) {
      throw badRequest(SsoError.InvalidId, `The ${a.kind} id must be ${embed.resourceIds.description} (got "${a.id.slice(0, 40)}")`);
    }

    if (!session) {
      await this.sso.refuseDisabledAccount(a.cookie, target.slug, meta, { flow: 'embed' });
      if (a.json) throw unauthorized(SsoError.NoSession, 'Not signed in: sign in to the identity provider first');
      const url = this.sso.loginUrl(`/embed/${target.slug}/${a.kind}/${encodeURIComponent(id)}`, undefined);
      return { kind: 'redirect', url };
    }
    await this.sso.admitHandshake(meta, session, { flow: 'embed', target: target.slug });
    const access = await this.sso.requireAccess(loaded, session, meta, { flow: 'embed' });
    const { token, exp } = await this.mint(embed, loaded, access, session, meta, a.kind, id, 'url');
    const url = embed.url(mintBase(loaded, access, session).target, a.kind, token);
    if (a.json) return { kind: 'json', body: { url, expiresAt: new Date(exp * 1000).toISOString() } };
    return { kind: 'redirect', url };
  }

  /**
   * POST from the product's embed script (Metabase embed.js `guestEmbedProviderUri`):
   * `{entityType, entityId, customContext?}` -> `{jwt}`. Every refusal is audited
   * (`embed.denied`) and mints nothing.
   */
  async guestToken(a: GuestTokenInput): Promise<{ jwt: string }> {
    const { loaded, session, meta } = a;
    const { target } = loaded;
    const tenantId = session?.tenant.id ?? null;
    const embed = targetDefinition(target.kind)?.embed;
    if (!embed?.guest) {
      await this.sso.auditRefusal(meta, { flow: 'embed', tenantId, target: target.slug, reason: 'guest_embed_not_supported' });
      throw badRequest(SsoError.GuestEmbedNotSupported, `Target ${target.slug} has no guest-embed tokens`);
    }
    const request = parseGuestBody(a.body, embed);
    if ('problem' in request) {
      await this.sso.auditRefusal(meta, { flow: 'embed', tenantId, target: target.slug, reason: 'invalid_body', details: { problem: request.problem } });
      throw badRequest(SsoError.InvalidBody, request.problem);
    }
    if (!session) {
      await this.sso.refuseDisabledAccount(a.cookie, target.slug, meta, { flow: 'embed' });
      throw unauthorized(SsoError.NoSession, 'Not signed in: sign in to the identity provider first');
    }
    await this.sso.admitHandshake(meta, session, { flow: 'embed', target: target.slug });
    const access = await this.sso.requireAccess(loaded, session, meta, { flow: 'embed' });
    if (!embed.guest.allowed(access, request.kind, request.id)) {
      await this.sso.auditRefusal(meta, { flow: 'embed', tenantId: session.tenant.id, target: target.slug, reason: 'entity_not_allowed', details: { kind: request.kind, id: request.id, userId: session.user.id } });
      throw forbidden(SsoError.EntityNotAllowed, `Your organization may not embed ${request.kind} ${request.id}`);
    }
    const { token } = await this.mint(embed, loaded, access, session, meta, request.kind, request.id, 'guest');
    return { jwt: token };
  }

  /** Builds, records (token + audit, one statement), then signs: no record, no token. */
  private async mint(
    embed: EmbedBehaviour,
    loaded: TargetWithAccess,
    access: NonNullable<TargetWithAccess['access']>,
    session: SessionContext,
    meta: RequestMeta,
    kind: string,
    id: ResourceId,
    flow: 'url' | 'guest',
  ): Promise<{ token: string; exp: number }> {
    const { target } = loaded;
    const signer = await this.sso.signer(target, embed.signing);
    const base = mintBase(loaded, access, session);
    const now = Math.floor(Date.now() / 1000);
    const ttl = embed.ttlSeconds(target.settings);
    let payload: Record<string, unknown>;
    try {
      payload = embed.payload(base, kind, id, now + ttl);
    } catch (e) {
      if (e instanceof DomainError) {
        await this.sso.auditRefusal(meta, { flow: 'embed', tenantId: session.tenant.id, target: target.slug, reason: e.code, details: { kind, id, ...(e.details ?? {}) } });
      }
      throw e;
    }
    const jti = randomUUID();
    const rec = await this.store.record(
      tokenRecordInput({
        jti, target, session, meta, now, ttlSeconds: ttl, type: 'embed.issued',
        details: { resource: kind, id, flow, params: Object.keys((payload.params as object) ?? {}) },
      }),
    );
    if (!rec.recorded) throw new Error('embed token was not recorded'); // no identity, no iat sequence: cannot happen
    // The product's contract: HS256 with the `alg` header; the payload is exactly {resource, params, exp}.
    const token = await signJwt(payload, signer);
    return { token, exp: rec.exp };
  }
}

/**
 * `{entityType, entityId, customContext?}` as embed.js sends it, or the problem found. entityId
 * comes "as set on the component": a number, a numeric string or an entity ID string, each
 * signed in the form the product takes it (parseResourceId).
 */
function parseGuestBody(body: unknown, embed: EmbedBehaviour): { kind: string; id: ResourceId } | { problem: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { problem: 'the body must be a JSON object {entityType, entityId}' };
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) {
    if (!['entityType', 'entityId', 'customContext'].includes(k)) return { problem: `${k.slice(0, 40)} is not a known field` };
  }
  const kinds = embed.resources;
  if (typeof b.entityType !== 'string' || !kinds.includes(b.entityType)) return { problem: `entityType must be one of ${kinds.join(', ')}` };
  const id = parseResourceId(embed.resourceIds, b.entityId);
  if (id === null) return { problem: `entityId must be ${embed.resourceIds.description}` };
  if (b.customContext !== undefined && JSON.stringify(b.customContext).length > MAX_CUSTOM_CONTEXT) {
    return { problem: `customContext must be at most ${MAX_CUSTOM_CONTEXT} characters of JSON` };
  }
  return { kind: b.entityType, id };
}
