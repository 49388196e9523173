import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomBytes, randomUUID } from 'node:crypto';
import { Repository } from 'typeorm';
import { auditEventsInRangeSql } from '../audit/audit-events.sql';
import { OutboundGuard } from '../catalog/outbound';
import { InjectConfig } from '../config/config.module';
import { Config } from '../config/configuration';
import { SecretBox } from '../crypto/secret-box';
import { AuditStream, AuditStreamDelivery, auditStreamPreviousSecretContext, auditStreamSecretContext } from './audit-stream.entity';

export interface StreamInput {
  tenantId: string | null;
  name: string;
  url: string;
  eventTypes: string[];
  /** A whsec_ secret to use; absent: one is generated (and returned once). */
  secret?: string;
}

export interface StreamHealth {
  pending: number;
  failed: number;
  delivered: number;
  /** When the oldest undelivered event was written (how far behind the stream is). */
  oldestPendingAt: Date | null;
}

/** Standard Webhooks secrets: `whsec_` and base64 of 24 to 64 random bytes. */
const WHSEC = /^whsec_[A-Za-z0-9+/]{32,88}={0,2}$/;

/** Thrown for a destination that cannot be saved: the problems, each naming its field. */
export class StreamRefused extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
  }
}

/**
 * Audit streams: destinations receiving audit events as Standard Webhooks
 * (https://www.standardwebhooks.com). Each has a signing secret in the spec's `whsec_` form,
 * sealed at rest and shown once, when the destination is created.
 */
@Injectable()
export class AuditStreamsService {
  constructor(
    @InjectRepository(AuditStream) private readonly streams: Repository<AuditStream>,
    @InjectRepository(AuditStreamDelivery) private readonly deliveries: Repository<AuditStreamDelivery>,
    private readonly box: SecretBox,
    private readonly guard: OutboundGuard,
    @InjectConfig('outbound') private readonly outbound: Config<'outbound'>,
  ) {}

  /** Why `url` may not receive events (empty when it may): https, and a public address in production. */
  async urlProblems(url: string): Promise<string[]> {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return ['url: must be an absolute URL such as https://siem.example.com/hooks/idp'];
    }
    // Audit events name people and addresses: plain http only where private addresses are
    // allowed too (development, tests, OUTBOUND_ALLOW_PRIVATE=true).
    if (u.protocol !== 'https:' && !(u.protocol === 'http:' && !this.outbound.refuseNonPublic)) return ['url: must be https'];
    if (u.username || u.password) return ['url: must not carry a user name or password (the signature authenticates us)'];
    return this.guard.baseUrlProblems(url, 'url');
  }

  async create(input: StreamInput): Promise<{ stream: AuditStream; secret: string }> {
    const problems = await this.urlProblems(input.url);
    if (input.secret !== undefined && !WHSEC.test(input.secret)) problems.push('secret: must be a Standard Webhooks secret: whsec_ followed by base64 of 24 to 64 bytes');
    if (problems.length) throw new StreamRefused(problems);
    const secret = input.secret ?? `whsec_${randomBytes(32).toString('base64')}`;
    const id = randomUUID();
    await this.streams.insert({
      id,
      tenantId: input.tenantId,
      name: input.name,
      url: input.url,
      eventTypes: [...new Set(input.eventTypes)],
      secretEnc: this.box.seal(secret, auditStreamSecretContext(id)),
    });
    return { stream: (await this.find(id))!, secret };
  }

  /** A stream by id, within `tenantId` when given (a tenant sees only its own). */
  async find(id: string, tenantId?: string | null): Promise<AuditStream | null> {
    const s = await this.streams.findOneBy({ id });
    if (!s || (tenantId && s.tenantId !== tenantId)) return null;
    return s;
  }

  /** Global and every tenant's (tenantId undefined), or one tenant's only. */
  list(tenantId?: string | null): Promise<AuditStream[]> {
    return this.streams.find({ where: tenantId ? { tenantId } : {}, order: { createdAt: 'ASC' } });
  }

  async remove(id: string): Promise<void> {
    await this.streams.delete({ id });
  }

  async setEnabled(id: string, enabled: boolean): Promise<void> {
    await this.streams.update({ id }, { enabled });
  }

  /** Changes what is given (name, URL, event types, enabled); the URL is checked as when created. */
  async update(id: string, patch: { name?: string; url?: string; eventTypes?: string[]; enabled?: boolean }): Promise<AuditStream> {
    if (patch.url !== undefined) {
      const problems = await this.urlProblems(patch.url);
      if (problems.length) throw new StreamRefused(problems);
    }
    const set: Partial<AuditStream> = {};
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.url !== undefined) set.url = patch.url;
    if (patch.eventTypes !== undefined) set.eventTypes = [...new Set(patch.eventTypes)];
    if (patch.enabled !== undefined) set.enabled = patch.enabled;
    if (Object.keys(set).length) await this.streams.update({ id }, set);
    return (await this.find(id))!;
  }

  /**
   * A new signing secret (given, or generated); the current one keeps signing too, beside it,
   * for `graceSeconds` (0: dropped at once), so a receiver can switch secrets without refusing
   * an event. Returns the new secret (shown once) and when the old one stops signing.
   */
  async rotateSecret(id: string, graceSeconds: number, secret?: string): Promise<{ secret: string; previousSecretUntil: Date | null }> {
    if (secret !== undefined && !WHSEC.test(secret)) throw new StreamRefused(['secret: must be a Standard Webhooks secret: whsec_ followed by base64 of 24 to 64 bytes']);
    const next = secret ?? `whsec_${randomBytes(32).toString('base64')}`;
    const current = (await this.secretsOf(id)).secret;
    const until = graceSeconds > 0 ? new Date(Date.now() + graceSeconds * 1000) : null;
    await this.streams.update(
      { id },
      {
        secretEnc: this.box.seal(next, auditStreamSecretContext(id)),
        previousSecretEnc: until ? this.box.seal(current, auditStreamPreviousSecretContext(id)) : null,
        previousSecretUntil: until,
      },
    );
    return { secret: next, previousSecretUntil: until };
  }

  /** The plaintext signing secret (for the delivery worker only). */
  async secretOf(id: string): Promise<string> {
    return (await this.secretsOf(id)).secret;
  }

  /** The signing secrets (for the delivery worker only): the current one, and the previous one while its grace lasts. */
  async secretsOf(id: string): Promise<{ secret: string; previous: string | null }> {
    const row = await this.streams
      .createQueryBuilder('s')
      .addSelect('s.secretEnc')
      .addSelect('s.previousSecretEnc')
      .where('s.id = :id', { id })
      .getOneOrFail();
    return this.open(row);
  }

  /** Opens sealed secrets; the previous one only while its grace period lasts. */
  private open(row: { id: string; secretEnc: string; previousSecretEnc: string | null; previousSecretUntil: Date | null }, now = new Date()): { secret: string; previous: string | null } {
    const live = row.previousSecretEnc && row.previousSecretUntil && row.previousSecretUntil > now;
    return { secret: this.openSecret(row.id, row.secretEnc, 'current'), previous: live ? this.openSecret(row.id, row.previousSecretEnc!, 'previous') : null };
  }

  /** One sealed secret of stream `id` (for the delivery worker only). */
  openSecret(id: string, sealed: string, which: 'current' | 'previous'): string {
    return this.box.open(sealed, which === 'current' ? auditStreamSecretContext(id) : auditStreamPreviousSecretContext(id));
  }

  async health(ids: string[]): Promise<Map<string, StreamHealth>> {
    const out = new Map<string, StreamHealth>(ids.map((id) => [id, { pending: 0, failed: 0, delivered: 0, oldestPendingAt: null }]));
    if (!ids.length) return out;
    const rows: { stream_id: string; status: 'pending' | 'failed' | 'delivered'; n: number; oldest: Date | null }[] = await this.deliveries.query(
      `SELECT stream_id, status, count(*)::int AS n, min(event_at) AS oldest FROM audit_stream_deliveries WHERE stream_id = ANY($1::uuid[]) GROUP BY 1, 2`,
      [ids],
    );
    for (const r of rows) {
      const h = out.get(r.stream_id)!;
      h[r.status] = r.n;
      if (r.status === 'pending') h.oldestPendingAt = r.oldest;
    }
    return out;
  }

  /** The newest deliveries of a stream, `failed` ones only when asked. */
  recentDeliveries(id: string, status: 'failed' | 'pending' | 'delivered' | undefined, limit = 50): Promise<AuditStreamDelivery[]> {
    return this.deliveries.find({ where: { streamId: id, ...(status ? { status } : {}) }, order: { id: 'DESC' }, take: limit });
  }

  /**
   * Sends again every event in [from, to) that the stream selects (its tenant, its types), in
   * order after what is already queued. Receivers recognise a replayed event by its
   * webhook-id (the event's), the same as the first time. Returns how many were queued.
   */
  async replay(id: string, from: Date, to: Date): Promise<number> {
    const rows = await this.deliveries.query(
      `WITH q AS (
         INSERT INTO audit_stream_deliveries (stream_id, event_id, event_at)
         SELECT s.id, e.id, e.at FROM audit_streams s, ${auditEventsInRangeSql('$2', '$3')}
            AND s.id = $1
            AND (s.tenant_id IS NULL OR s.tenant_id = e.tenant_id)
            AND (cardinality(s.event_types) = 0 OR e.type = ANY (s.event_types))
          ORDER BY e.id
         RETURNING 1)
       SELECT count(*)::int AS n FROM q`,
      [id, from, to],
    );
    return rows[0].n;
  }
}
