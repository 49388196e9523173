import { Injectable, Logger } from '@nestjs/common';
import { createHash, createHmac, randomUUID } from 'node:crypto';
import type { SessionContext } from '../auth/auth.types';
import type { RequestMeta } from '../common/request-meta';
import { badRequest, DomainError, notFound, unauthorized } from '../common/errors';
import { SigningKeyCache } from './signing-key-cache';
import { OutboundGuard } from '../catalog/outbound';
import { mintBase, SsoService } from './sso.service';
import { SsoRepository, TargetWithAccess } from './sso.repository';
import { targetDefinition } from '../products';
import type { Broker, BrokerBehaviour, BrokerMint } from '../products/product-definition';
import { SsoError } from '../catalog/sso.errors';
import { tokenRecordInput } from './token-record';

export interface BrokerInput {
  loaded: TargetWithAccess;
  /** The kind segment of the URL: it must be the target's product. */
  kind: string;
  resourceId: string;
  /** The URL's last segment (`token`, `guest-token`): it must be the product's broker endpoint. */
  endpoint?: 'token' | 'guest-token';
  session: SessionContext | null;
  cookie: string | undefined;
  meta: RequestMeta;
}

/** Per call to the product; a broker may set its own per target. */
const DEFAULT_TIMEOUT_MS = 5000;

/**
 * Token brokers, product-agnostic: `GET /embed/<target>/<kind>/<id>/token` for a signed-in
 * user. The product file (its `broker`) does the exchange with the product; this service
 * checks the request, the session and the access, hands the broker an opaque viewer id and
 * the opened secrets, then records and audits the token (`broker.token_issued`, one
 * statement, like every token) before it leaves. Refusals are audited (`broker.denied`).
 */
@Injectable()
export class BrokerService {
  private readonly log = new Logger(BrokerService.name);
  private readonly brokers = new Map<string, Broker>();

  constructor(
    private readonly sso: SsoService,
    private readonly store: SsoRepository,
    private readonly keys: SigningKeyCache,
    private readonly outbound: OutboundGuard,
  ) {}

  async issue(a: BrokerInput): Promise<Record<string, unknown>> {
    const { loaded, session, meta } = a;
    const { target } = loaded;
    const tenantId = session?.tenant.id ?? null;
    const def = targetDefinition(target.kind);
    if (!def?.broker) {
      await this.sso.auditRefusal(meta, { flow: 'broker', tenantId, target: target.slug, reason: 'broker_not_supported' });
      throw badRequest(SsoError.BrokerNotSupported, `Target ${target.slug} has no token broker`);
    }
    if (a.kind !== target.kind) {
      await this.sso.auditRefusal(meta, { flow: 'broker', tenantId, target: target.slug, reason: 'wrong_kind', details: { kind: a.kind.slice(0, 40) } });
      throw notFound(SsoError.TargetNotFound, { target: target.slug, kind: a.kind.slice(0, 40) });
    }
    const endpoint = def.broker.endpoint ?? 'token';
    if ((a.endpoint ?? 'token') !== endpoint) {
      await this.sso.auditRefusal(meta, { flow: 'broker', tenantId, target: target.slug, reason: 'broker_not_supported', details: { endpoint: a.endpoint ?? 'token' } });
      throw badRequest(SsoError.BrokerNotSupported, `${def.label} tokens are at /embed/${target.slug}/${target.kind}/<id>/${endpoint}`);
    }
    if (!def.broker.resourceId.test(a.resourceId)) {
      await this.sso.auditRefusal(meta, { flow: 'broker', tenantId, target: target.slug, reason: 'invalid_id' });
      throw badRequest(SsoError.InvalidId, `"${a.resourceId.slice(0, 40)}" is not a ${def.label} resource id`);
    }
    if (!session) {
      await this.sso.refuseDisabledAccount(a.cookie, target.slug, meta, { flow: 'broker' });
      throw unauthorized(SsoError.NoSession, 'Not signed in: sign in to the identity provider first');
    }
    await this.sso.admitHandshake(meta, session, { flow: 'broker', target: target.slug });
    const access = await this.sso.requireAccess(loaded, session, meta, { flow: 'broker' });

    const secrets: Record<string, string> = {};
    for (const spec of def.secrets) {
      const plain = this.keys.plainFor(target.id, spec.name, target.secrets[spec.name]);
      if (plain !== null) secrets[spec.name] = plain;
    }
    const broker = this.brokerFor(def.kind, def.broker.create);
    const now = Math.floor(Date.now() / 1000);
    const ourJti = randomUUID();
    let minted: BrokerMint;
    try {
      minted = await broker.mint({
        target: { id: target.id, slug: target.slug, baseUrl: target.baseUrl, settings: target.settings },
        secrets,
        secretsVersion: createHash('sha256').update(JSON.stringify(target.secrets)).digest('base64url').slice(0, 16),
        ctx: mintBase(loaded, access, session),
        resourceId: a.resourceId,
        viewerId: viewerId(target.id, session.user.id),
        jti: ourJti,
        now,
      });
    } catch (e) {
      if (!(e instanceof DomainError)) throw e;
      // The message names the step and the HTTP status; the product's answer, the secret and
      // the tokens are never in it (nor in this log line).
      if (e.status >= 500) this.log.warn({ target: target.slug, code: e.code, details: e.details }, e.message);
      await this.sso.auditRefusal(meta, { flow: 'broker', tenantId: session.tenant.id, target: target.slug, reason: e.code, details: { resourceId: a.resourceId, userId: session.user.id, ...(e.details ?? {}) } });
      throw e;
    }
    // The product's own token id when it gives one (it names the token in its logs too).
    const jti = minted.jti ?? ourJti;
    await this.store.record(
      tokenRecordInput({ jti, target, session, meta, now, ttlSeconds: minted.expiresIn, type: 'broker.token_issued', details: { ...minted.audit, resource: a.resourceId } }),
    );
    return minted.body;
  }

  private brokerFor(kind: string, create: BrokerBehaviour['create']): Broker {
    let b = this.brokers.get(kind);
    if (!b) {
      // Only public addresses in production, checked on the address connected to; no redirects.
      b = create({ fetch: this.outbound.fetch, timeoutMs: DEFAULT_TIMEOUT_MS });
      this.brokers.set(kind, b);
    }
    return b;
  }
}

/**
 * A stable opaque id of the user for one target: HMAC-SHA256 keyed by the target id over our
 * user id (itself a random uuid). No email or name reaches the product, the same user keeps
 * the same id there, and ids are not linkable across targets.
 */
export function viewerId(targetId: string, userId: string): string {
  return createHmac('sha256', targetId).update(userId).digest('base64url').slice(0, 32);
}
