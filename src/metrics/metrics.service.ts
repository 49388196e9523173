import { Injectable } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { DataSource } from 'typeorm';

/** The pg Pool under TypeORM's postgres driver (its `master`): counts of its clients. */
interface PgPool {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
  options?: { max?: number };
}

/**
 * Prometheus metrics. One registry per application (tests run several apps in one process).
 * Security and SSO events are counted from where they are already recorded: the audit log
 * (AuditService.record, and the one-statement token record of the SSO hot path, which writes
 * its audit row in SQL) calls `audited`, so a counter cannot disagree with the audit trail.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  private readonly handshakes = new Counter({
    name: 'embed_idp_handshakes_total',
    help: 'Tokens issued to BI tools, by flow (sso: the JWT SSO handshake, embed: a signed embed URL, token: a token for the product SDK or URL)',
    labelNames: ['flow'],
    registers: [this.registry],
  });
  private readonly refusals = new Counter({
    name: 'embed_idp_refusals_total',
    help: 'SSO and embed requests refused, by flow and reason (as in the audit log)',
    labelNames: ['flow', 'reason'],
    registers: [this.registry],
  });
  private readonly logins = new Counter({
    name: 'embed_idp_logins_total',
    help: 'Login attempts by outcome',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  private readonly lockouts = new Counter({
    name: 'embed_idp_lockouts_total',
    help: 'Accounts locked after repeated failed logins',
    registers: [this.registry],
  });
  private readonly fastPathFallbacks = new Counter({
    name: 'embed_idp_sso_fast_path_fallbacks_total',
    help: 'SSO handshakes the fast path handed to the full pipeline, by reason (no_session, refusal, error)',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  private readonly handoffFastPath = new Counter({
    name: 'embed_idp_handoff_fast_path_total',
    help: 'Host-app hand-offs (POST /sso/<target>) the fast path took, by outcome: answered, handed_over (it ran the hand-off; the full pipeline answered its refusal or error), body (a body it does not take: the full pipeline parsed and ran it)',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: 'embed_idp_http_request_duration_seconds',
    help: 'HTTP request duration by method, route pattern and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  constructor(dataSource: DataSource) {
    collectDefaultMetrics({ register: this.registry, prefix: 'embed_idp_' });
    const pool = () => (dataSource.isInitialized ? ((dataSource.driver as unknown as { master?: PgPool }).master ?? null) : null);
    new Gauge({
      name: 'embed_idp_db_pool_connections',
      help: 'Postgres pool connections: open (total), idle, and the configured maximum',
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        const p = pool();
        if (!p) return;
        this.set({ state: 'total' }, p.totalCount);
        this.set({ state: 'idle' }, p.idleCount);
        this.set({ state: 'max' }, p.options?.max ?? 0);
      },
    });
    new Gauge({
      name: 'embed_idp_db_pool_waiting',
      help: 'Queries waiting for a free Postgres pool connection',
      registers: [this.registry],
      collect() {
        this.set(pool()?.waitingCount ?? 0);
      },
    });
  }

  /** Called for every audit event once it has committed (see the class comment). */
  audited(type: string, details: Record<string, unknown> | undefined): void {
    switch (type) {
      case 'sso.token_issued':
        return this.handshakes.inc({ flow: 'sso' });
      case 'embed.issued':
        return this.handshakes.inc({ flow: 'embed' });
      case 'token.issued':
        return this.handshakes.inc({ flow: 'token' });
      case 'login.success':
        return this.logins.inc({ outcome: 'success' });
      case 'login.failure':
        return this.logins.inc({ outcome: 'failure' });
      case 'login.lockout':
        return this.lockouts.inc();
    }
    if (type.endsWith('.denied')) {
      const reason = typeof details?.reason === 'string' ? details.reason.slice(0, 64) : 'unknown';
      this.refusals.inc({ flow: type.slice(0, -'.denied'.length), reason });
    }
  }

  /** The SSO fast path handed a handshake on to the full pipeline. */
  fastPathFallback(reason: 'no_session' | 'refusal' | 'error'): void {
    this.fastPathFallbacks.inc({ reason });
  }

  handoffFastPathOutcome(outcome: 'answered' | 'handed_over' | 'body'): void {
    this.handoffFastPath.inc({ outcome });
  }

  /** Times one request outside Express (the SSO fast path): call the result when it is answered. */
  httpTimer(): (labels: { method: string; route: string; status: string }) => void {
    const end = this.latency.startTimer();
    return (labels) => end(labels);
  }

  /**
   * Express middleware timing every request. The route label is the matched pattern
   * (`/api/v1/tenants/:tenantId`), never the raw URL, so ids do not explode the series.
   */
  httpMiddleware() {
    return (req: Request, res: Response, next: NextFunction) => {
      const end = this.latency.startTimer();
      res.once('finish', () => {
        const route = (req.route as { path?: string } | undefined)?.path;
        end({ method: req.method, route: typeof route === 'string' ? route : 'unmatched', status: String(res.statusCode) });
      });
      next();
    };
  }
}
