import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { randomUUID } from 'node:crypto';
import type { RequestMeta, SessionContext } from '../auth/auth.types';
import { badRequest, DomainError, unauthorized } from '../common/errors';
import { mintBase, SsoOutcome, SsoService } from './sso.service';
import { SsoStore, TargetWithAccess } from './sso.store';
import { targetDefinition } from './targets';

export interface EmbedInput {
  loaded: TargetWithAccess;
  kind: string;
  id: string;
  session: SessionContext | null;
  json: boolean;
  cookie: unknown;
  meta: RequestMeta;
}

/** Positive whole numbers only; a dashboard id of "1e3" or "01" is refused, not guessed at. */
const RESOURCE_ID = /^[1-9][0-9]{0,15}$/;

/**
 * Signed ("static") embeds: an iframe URL whose token, signed with the embedding secret,
 * names one dashboard or question and locks its parameters to the signed-in user's values.
 * Recorded and audited like SSO tokens (issued_tokens + embed.issued, one statement), then
 * signed. No session is opened in the BI tool, so the session's targets_used is left alone.
 */
@Injectable()
export class EmbedService {
  constructor(
    private readonly sso: SsoService,
    private readonly store: SsoStore,
    private readonly jwt: JwtService,
  ) {}

  async issue(a: EmbedInput): Promise<SsoOutcome> {
    const { loaded, session, meta } = a;
    const { target } = loaded;
    const embed = targetDefinition(target.kind).embed;
    if (!embed) {
      await this.sso.deny(meta, session?.tenant.id ?? null, target.slug, 'embed_not_supported', 'embed');
      throw badRequest('embed_not_supported', `Target ${target.slug} has no signed embeds`);
    }
    if (!embed.resources.includes(a.kind)) {
      throw badRequest('invalid_embed_kind', `Embeddable kinds are ${embed.resources.join(', ')} (got "${a.kind.slice(0, 40)}")`, {
        kinds: embed.resources,
      });
    }
    const id = Number(a.id);
    if (!RESOURCE_ID.test(a.id) || !Number.isSafeInteger(id)) {
      throw badRequest('invalid_id', `The ${a.kind} id must be a positive whole number (got "${a.id.slice(0, 40)}")`);
    }

    if (!session) {
      await this.sso.refuseDisabledAccount(a.cookie, target.slug, meta, 'embed');
      if (a.json) throw unauthorized('no_session', 'Not signed in: sign in to the identity provider first');
      const url = this.sso.loginUrl(`/embed/${target.slug}/${a.kind}/${id}`, undefined);
      return { kind: 'redirect', url };
    }
    const access = await this.sso.requireAccess(loaded, session, meta, 'embed');
    const key = this.sso.signingKey(target, 'embedding_secret');
    const base = mintBase(loaded, access, session);
    const now = Math.floor(Date.now() / 1000);
    const ttl = embed.ttlSeconds(target.settings);
    let payload: Record<string, unknown>;
    try {
      payload = embed.payload(base, a.kind, id, now + ttl);
    } catch (e) {
      if (e instanceof DomainError) {
        await this.sso.deny(meta, session.tenant.id, target.slug, e.code, 'embed', { kind: a.kind, id, ...(e.details ?? {}) });
      }
      throw e;
    }
    const jti = randomUUID();
    const rec = await this.store.record({
      jti,
      targetId: target.id,
      tenantId: session.tenant.id,
      userId: session.user.id,
      sessionId: session.id,
      now,
      ttlSeconds: ttl,
      markSessionTarget: false,
      audit: {
        type: 'embed.issued',
        actor: meta.actor,
        ip: meta.ip,
        requestId: meta.requestId,
        details: { target: target.slug, targetId: target.id, userId: session.user.id, jti, resource: a.kind, id, params: Object.keys((payload.params as object) ?? {}) },
      },
    });
    if (!rec.recorded) throw new Error('embed token was not recorded'); // no identity, no iat sequence: cannot happen
    // CONTRACTS: HS256 with the `alg` header; the payload is exactly {resource, params, exp}.
    const token = this.jwt.sign(payload, { privateKey: key, algorithm: 'HS256', noTimestamp: true });
    const url = embed.url(base.target, a.kind, token);
    if (a.json) return { kind: 'json', body: { url, expiresAt: new Date(rec.exp * 1000).toISOString() } };
    return { kind: 'redirect', url };
  }
}
