import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import type { RequestMeta } from '../auth/auth.types';
import { AuditEvent } from './audit-event.entity';

export interface AuditInput {
  type: string;
  tenantId?: string | null;
  details?: Record<string, unknown>;
}

export interface AuditQuery {
  tenantId?: string;
  type?: string;
  from?: Date;
  to?: Date;
  limit: number;
  /** Keyset pagination: events with id below this. */
  before?: string;
}

@Injectable()
export class AuditService {
  constructor(@InjectRepository(AuditEvent) private readonly repo: Repository<AuditEvent>) {}

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
  }

  /** Newest first. */
  async list(q: AuditQuery): Promise<AuditEvent[]> {
    const qb = this.repo.createQueryBuilder('e').orderBy('e.id', 'DESC').limit(q.limit);
    if (q.tenantId) qb.andWhere('e.tenant_id = :tenantId', { tenantId: q.tenantId });
    if (q.type) qb.andWhere('e.type = :type', { type: q.type });
    if (q.from) qb.andWhere('e.at >= :from', { from: q.from });
    if (q.to) qb.andWhere('e.at < :to', { to: q.to });
    if (q.before) qb.andWhere('e.id < :before', { before: q.before });
    return qb.getMany();
  }
}
