import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Webhook } from 'standardwebhooks';
import { DataSource } from 'typeorm';
import { AUDIT_EVENT_PAYLOAD_SQL, auditEventJoinSql } from '../audit/audit-events.sql';
import { OutboundGuard } from '../catalog/outbound';
import { AuditStreamsService } from './audit-streams.service';

/**
 * After a failed attempt, the wait before the next: the schedule the Standard Webhooks
 * specification suggests (immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, …), until
 * RETRY_FOR_MS after the event was queued; then the delivery is marked failed.
 */
export const RETRY_DELAYS_MS = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000];
export const RETRY_FOR_MS = 3 * 86_400_000;
/** A receiver gets this long to answer (Standard Webhooks suggests a short timeout, a few seconds). */
export const DELIVERY_TIMEOUT_MS = 10_000;
/** Deliveries in flight per process (each holds one pooled connection while it waits). */
const CONCURRENCY = 4;
const IDLE_POLL_MS = 250;

export function retryDelay(attempts: number): number {
  return RETRY_DELAYS_MS[Math.min(attempts - 1, RETRY_DELAYS_MS.length - 1)];
}

interface Claimed {
  id: string;
  stream_id: string;
  event_id: string;
  attempts: number;
  created_at: Date;
  url: string;
  payload: string | null;
}

/**
 * Sends the outbox (audit_stream_deliveries) to each stream's URL, signed per Standard
 * Webhooks. Safe with several processes: a delivery is claimed with FOR UPDATE SKIP LOCKED in
 * a transaction held while it is sent, so no two processes send it at once, and a process that
 * dies mid-send leaves it pending (its transaction rolls back) for another to send again: at
 * least once. In order per stream: only the oldest pending delivery of a stream is ever
 * claimed, so a stream whose receiver fails waits (up to 3 days) rather than skipping ahead.
 */
@Injectable()
export class AuditStreamWorker implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger(AuditStreamWorker.name);
  private stopping = false;
  private loops: Promise<void>[] = [];
  private readonly secrets = new Map<string, Webhook>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly streams: AuditStreamsService,
    private readonly guard: OutboundGuard,
  ) {}

  onApplicationBootstrap(): void {
    for (let i = 0; i < CONCURRENCY; i++) this.loops.push(this.loop());
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      let worked = false;
      try {
        worked = await this.deliverOne();
      } catch (err) {
        if (!this.stopping) this.log.warn({ err }, 'audit stream delivery run failed (retried)');
      }
      if (!worked) await new Promise((r) => setTimeout(r, IDLE_POLL_MS).unref());
    }
  }

  /** Claims and sends one delivery, if one is due; false when none is. */
  async deliverOne(): Promise<boolean> {
    if (!this.dataSource.isInitialized) return false;
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      // Each stream's head (its oldest pending delivery), if due and not being sent by another
      // process. `status = 'pending'` is checked again on the locked row: a head another
      // process just delivered is then skipped, not sent twice.
      const [row]: Claimed[] = await runner.query(`
        SELECT d.id, d.stream_id, d.event_id, d.attempts, d.created_at, s.url,
               ${AUDIT_EVENT_PAYLOAD_SQL} AS payload
          FROM audit_stream_deliveries d
          JOIN audit_streams s ON s.id = d.stream_id
          ${auditEventJoinSql('d')}
         WHERE d.id IN (SELECT DISTINCT ON (stream_id) id FROM audit_stream_deliveries WHERE status = 'pending' ORDER BY stream_id, id)
           AND d.status = 'pending' AND d.next_attempt_at <= now() AND s.enabled
         ORDER BY d.id
         LIMIT 1
         FOR UPDATE OF d SKIP LOCKED`);
      if (!row) {
        await runner.commitTransaction();
        return false;
      }
      const outcome = row.payload === null ? { ok: false, error: 'the event is gone (past retention)', final: true } : await this.send(row);
      if (outcome.ok) {
        await runner.query(`UPDATE audit_stream_deliveries SET status = 'delivered', attempts = attempts + 1, delivered_at = now(), last_error = NULL WHERE id = $1`, [row.id]);
      } else {
        const attempts = row.attempts + 1;
        const next = Date.now() + retryDelay(attempts);
        const failed = outcome.final || next - new Date(row.created_at).getTime() > RETRY_FOR_MS;
        await runner.query(
          `UPDATE audit_stream_deliveries SET attempts = $2, last_error = $3, status = $4, next_attempt_at = $5 WHERE id = $1`,
          [row.id, attempts, outcome.error.slice(0, 500), failed ? 'failed' : 'pending', new Date(next)],
        );
      }
      await runner.commitTransaction();
      // The stream's health, after the commit: updating its row inside the transaction would
      // deadlock with a DELETE of the stream (which locks it, then waits for this delivery).
      await runner.query(
        outcome.ok ? `UPDATE audit_streams SET last_success_at = now() WHERE id = $1` : `UPDATE audit_streams SET last_failure_at = now(), last_error = $2 WHERE id = $1`,
        outcome.ok ? [row.stream_id] : [row.stream_id, outcome.error.slice(0, 500)],
      );
      return true;
    } catch (err) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      throw err;
    } finally {
      await runner.release();
    }
  }

  private async send(row: Claimed): Promise<{ ok: boolean; error: string; final?: boolean }> {
    const webhookId = `msg_${row.event_id}`;
    const at = new Date();
    let wh = this.secrets.get(row.stream_id);
    if (!wh) {
      wh = new Webhook(await this.streams.secretOf(row.stream_id));
      this.secrets.set(row.stream_id, wh);
    }
    try {
      const res = await this.guard.fetch(row.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': webhookId,
          'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
          'webhook-signature': wh.sign(webhookId, at, row.payload!),
          'user-agent': 'embed-idp-audit-stream',
        },
        body: row.payload!,
        signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      });
      if (res.status >= 200 && res.status < 300) return { ok: true, error: '' };
      return { ok: false, error: `the receiver answered ${res.status}` };
    } catch (err) {
      const e = err as Error;
      return { ok: false, error: e.name === 'TimeoutError' ? `no answer within ${DELIVERY_TIMEOUT_MS / 1000} s` : e.message };
    }
  }
}
