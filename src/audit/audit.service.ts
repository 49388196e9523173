import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import type { RequestMeta } from '../common/request-meta';
import { MetricsService } from '../metrics/metrics.service';
import { AfterCommit } from './after-commit';
import { AuditCommitted } from './audit-committed';
import { AuditEvent } from './audit-event.entity';
import { TokenBuckets } from './token-buckets';

export interface AuditInput {
  type: string;
  tenantId?: string | null;
  details?: Record<string, unknown>;
}

/** Anonymous refusals audited per client IP at once, then one per 6 s. */
export const ANONYMOUS_REFUSALS_PER_IP = 30;

export interface AuditQuery {
  tenantId?: string;
  type?: string;
  /** details.reason of a refusal (the console's overview links to the events of one reason). */
  reason?: string;
  from?: Date;
  to?: Date;
  limit: number;
  /** Keyset pagination: events with id below this. */
  before?: string;
}

@Injectable()
export class AuditService {
  private readonly log = new Logger(AuditService.name);
  /** Per client IP; 10,000 IPs remembered at most (a few hundred KB). */
  private readonly anonymousPerIp = new TokenBuckets({ capacity: ANONYMOUS_REFUSALS_PER_IP, refillPerSecond: 1 / 6, maxKeys: 10_000 });
  /** All anonymous refusals together: bounds the rows an attacker rotating IPs can add. */
  private readonly anonymousOverall = new TokenBuckets({ capacity: 300, refillPerSecond: 5, maxKeys: 1 });
  /** Anonymous refusals not audited since the last one that was (carried on the next row). */
  private notAudited = 0;
  private readonly afterCommit: AfterCommit;

  constructor(
    @InjectRepository(AuditEvent) private readonly repo: Repository<AuditEvent>,
    private readonly metrics: MetricsService,
    private readonly committed: AuditCommitted,
  ) {
    this.afterCommit = new AfterCommit(repo.manager.connection);
  }

  /**
   * Records an event. Pass the transaction's manager so the event and the change it
   * describes commit (or roll back) together.
   */
  async record(meta: RequestMeta, input: AuditInput, manager?: EntityManager): Promise<void> {
    const repo = manager ? manager.getRepository(AuditEvent) : this.repo;
    await repo.insert({
      type: input.type,
      actor: meta.actor,
      tenantId: input.tenantId ?? null,
      ip: meta.ip,
      requestId: meta.requestId,
      details: (input.details ?? {}) as AuditEvent['details'] & object,
    });
    // Counted once the row is there for good: a counter cannot run ahead of the trail.
    this.afterCommit.run(manager?.queryRunner, () => {
      this.metrics.audited(input.type, input.details);
      this.committed.notify();
    });
  }

  /**
   * Counts an event another module wrote with auditInsertSql in its own statement (committed
   * by the time this is called), as record() counts its own.
   */
  written(type: string, details: Record<string, unknown>): void {
    this.metrics.audited(type, details);
    // Streams subscribed to it are woken now, not at their next poll (the signal is coalesced).
    this.committed.notify();
  }

  /**
   * Records a refusal. A signed-in or API-key caller's refusal is always recorded; an anonymous
   * one only within its IP's budget and the overall budget (anyone could
   * otherwise grow the audit table without bound). Past the budget the refusal is still
   * answered, only not written; the next anonymous refusal that is written says how many were
   * left out (`notAuditedBefore`), and the log says when leaving out begins.
   */
  async recordRefusal(meta: RequestMeta, input: AuditInput): Promise<void> {
    if (meta.actor !== 'anonymous') return this.record(meta, input);
    if (!this.anonymousPerIp.take(meta.ip ?? 'unknown') || !this.anonymousOverall.take('all')) {
      if (this.notAudited++ === 0) this.log.warn({ ip: meta.ip, type: input.type }, 'anonymous refusals over budget: no longer audited one by one');
      // Not written, but still a refusal: the metrics count every one (record() counts the rest).
      this.metrics.audited(input.type, input.details);
      return;
    }
    const left = this.notAudited;
    this.notAudited = 0;
    await this.record(meta, left ? { ...input, details: { ...input.details, notAuditedBefore: left } } : input);
  }

  /**
   * Activity per hour since `since` (operator console overview): sign-ins, SSO handshakes by
   * target, and refusals (login failures, *.denied) by reason. `tenantId` narrows to one tenant.
   */
  async hourlyActivity(since: Date, tenantId: string | null): Promise<{ hour: Date; type: string; target: string; reason: string; n: number }[]> {
    const rows: { hour: Date; type: string; target: string | null; reason: string | null; n: number }[] = await this.repo.query(
      `SELECT date_trunc('hour', at) AS hour, type, details->>'target' AS target, details->>'reason' AS reason, count(*)::int AS n
         FROM audit_events
        WHERE at >= $1 AND ($2::uuid IS NULL OR tenant_id = $2)
          AND (type IN ('login.success', 'sso.token_issued', 'login.failure') OR type LIKE '%.denied')
        GROUP BY 1, 2, 3, 4`,
      [since, tenantId],
    );
    return rows.map((r) => ({ hour: new Date(r.hour), type: r.type, target: r.target ?? '', reason: r.reason ?? '', n: r.n }));
  }

  /**
   * Every event `q` selects (its limit and before ignored), newest first as `list`, one page of
   * `pageSize` at a time (keyset pagination on id): memory stays that of one page however
   * many rows the range holds, and no transaction or cursor stays open between pages while
   * the consumer (a slow download) catches up.
   */
  async *each(q: Omit<AuditQuery, 'limit' | 'before'>, pageSize = 1000): AsyncGenerator<AuditEvent[]> {
    let before: string | undefined;
    for (;;) {
      let page: AuditEvent[] | null = await this.list({ ...q, limit: pageSize, before });
      const n = page.length;
      if (n) yield page;
      if (n < pageSize) return;
      before = page[n - 1].id;
      // Not kept alive while the next page is read: it would outlive young-generation
      // collections and pile up in the old generation until a full GC.
      page = null;
    }
  }

  /** Newest first. */
  async list(q: AuditQuery): Promise<AuditEvent[]> {
    const qb = this.repo.createQueryBuilder('e').orderBy('e.id', 'DESC').limit(q.limit);
    if (q.tenantId) qb.andWhere('e.tenant_id = :tenantId', { tenantId: q.tenantId });
    if (q.type) qb.andWhere('e.type = :type', { type: q.type });
    if (q.reason) qb.andWhere("e.details->>'reason' = :reason", { reason: q.reason });
    if (q.from) qb.andWhere('e.at >= :from', { from: q.from });
    if (q.to) qb.andWhere('e.at < :to', { to: q.to });
    if (q.before) qb.andWhere('e.id < :before', { before: q.before });
    return qb.getMany();
  }
}
