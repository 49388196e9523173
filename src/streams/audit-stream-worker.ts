import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Webhook } from 'standardwebhooks';
import { DataSource, QueryRunner } from 'typeorm';
import { AuditCommitted } from '../audit/audit-committed';
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
/** Streams sent to at once per process (each holds one pooled connection while it sends). */
const CONCURRENCY = 4;
/** Deliveries claimed at once per stream, sent one after the other in order. */
export const BATCH_SIZE = 200;
/**
 * No new send is started in a batch after this long: the claiming transaction (and the rows
 * it locks) stays short even when the receiver is slow; the rest is claimed again at once.
 */
const BATCH_MS = 2_000;
/**
 * Idle, each process still looks this often, for what this process did not write: events
 * written by another process, a delivery left by a process killed mid-send (its transaction
 * rolled back), a retry another process scheduled. One indexed look per enabled stream.
 */
export const FALLBACK_POLL_MS = 1_000;
/** Events committed within this long of each other wake the worker once (one claim, one batch). */
const COALESCE_MS = 10;
/** Namespace of the transaction-level advisory locks that let one process at a time send to a stream. */
export const STREAM_SEND_LOCK = 727_401_126;

export function retryDelay(attempts: number): number {
  return RETRY_DELAYS_MS[Math.min(attempts - 1, RETRY_DELAYS_MS.length - 1)];
}

interface Claimed {
  id: string;
  event_id: string;
  attempts: number;
  created_at: Date;
  due: boolean;
  next_attempt_at: Date;
  payload: string | null;
}

interface StreamRow {
  url: string;
  secret_enc: string;
  previous_secret_enc: string | null;
  previous_secret_until: Date | null;
}

type Outcome = { ok: true } | { ok: false; error: string; final?: boolean };

/**
 * Sends the outbox (audit_stream_deliveries) to each stream's URL, signed per Standard
 * Webhooks, several streams at once, each stream's deliveries in order.
 *
 * Per stream, one transaction: a transaction-level advisory lock on the stream (so one process
 * at a time sends to it, and a process that dies releases it with its connection), then up to
 * BATCH_SIZE of its oldest pending deliveries claimed FOR UPDATE SKIP LOCKED, sent one after the
 * other on a kept-alive connection, and marked delivered together at commit. A process killed
 * mid-batch rolls back: the batch stays pending and is sent again by another: at least once,
 * same webhook-id. A batch that does not start at the stream's oldest pending delivery (one
 * still held by a process of the previous version, which claims heads without the advisory
 * lock) is not sent: order is kept. A failed send ends the batch; its delivery is retried
 * with backoff and holds the stream back (up to 3 days) rather than letting it skip ahead.
 */
@Injectable()
export class AuditStreamWorker implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger(AuditStreamWorker.name);
  private stopping = false;
  private dispatcher: Promise<void> | null = null;
  /** Streams this process is sending to now, and their runs. */
  private readonly busy = new Map<string, Promise<void>>();
  /** Opened secrets by their sealed value: a rotation (another sealed value) is seen at once, in every process. */
  private readonly secrets = new Map<string, Webhook>();
  private wakeDispatcher: (() => void) | null = null;
  private woken = false;
  private coalesce: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  /** Whether the last look found an enabled stream (until the first look: assume so). */
  private streamsEnabled = true;
  /** Looks for due deliveries completed so far (tests read it). */
  looks = 0;
  /** How often an idle process looks (FALLBACK_POLL_MS; a test lengthens it to see the wake-up at work). */
  pollMs = FALLBACK_POLL_MS;

  constructor(
    private readonly dataSource: DataSource,
    private readonly streams: AuditStreamsService,
    private readonly guard: OutboundGuard,
    private readonly committed: AuditCommitted,
  ) {}

  onApplicationBootstrap(): void {
    this.unsubscribe = this.committed.subscribe(() => this.wakeSoon());
    this.dispatcher = this.dispatch();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.unsubscribe?.();
    if (this.coalesce) clearTimeout(this.coalesce);
    this.wake();
    await this.dispatcher;
    await Promise.all(this.busy.values());
  }

  /** Looks for due deliveries now (a retry fell due, a replay was queued). */
  wake(): void {
    this.woken = true;
    this.wakeDispatcher?.();
  }

  /**
   * After COALESCE_MS: a burst of commits costs one look. Not while the last look found no
   * enabled stream: then nothing a commit writes is to be sent, and a look per commit batch
   * would be a query on the hot path for nothing (the poll finds a stream made meanwhile,
   * within pollMs, as it finds one made on another process).
   */
  private wakeSoon(): void {
    if (this.coalesce || this.stopping || !this.streamsEnabled) return;
    this.coalesce = setTimeout(() => {
      this.coalesce = null;
      this.wake();
    }, COALESCE_MS);
    this.coalesce.unref();
  }

  /** Until woken or `ms` passed. */
  private sleep(ms: number): Promise<void> {
    if (this.woken) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      const self = this;
      function done() {
        clearTimeout(timer);
        self.wakeDispatcher = null;
        resolve();
      }
      this.wakeDispatcher = done;
    });
  }

  /** Finds the streams with a due delivery and runs one sender per stream, CONCURRENCY at most. */
  private async dispatch(): Promise<void> {
    while (!this.stopping) {
      this.woken = false;
      let due: string[] = [];
      try {
        if (this.dataSource.isInitialized && this.busy.size < CONCURRENCY) due = await this.dueStreams();
      } catch (err) {
        if (!this.stopping) this.log.warn({ err }, 'audit stream delivery run failed (retried)');
      }
      let waiting = false;
      for (const id of due) {
        if (this.busy.has(id)) continue;
        if (this.busy.size >= CONCURRENCY || this.stopping) {
          waiting = true;
          continue;
        }
        const run = this.sendAll(id).then((settled) => {
          this.busy.delete(id);
          // More may have come meanwhile, or another stream waits for a sender. Not after a
          // run that sent nothing (another process holds the stream, or it waits for a
          // retry): looking again at once would only spin.
          if (settled > 0 || waiting) this.wake();
        });
        this.busy.set(id, run);
      }
      if (!this.stopping) await this.sleep(this.pollMs);
    }
  }

  /** Enabled streams whose oldest pending delivery is due (one index probe each). */
  private async dueStreams(): Promise<string[]> {
    const rows: { id: string; due: boolean | null }[] = await this.dataSource.query(`
      SELECT s.id, (SELECT d.next_attempt_at FROM audit_stream_deliveries d
                     WHERE d.stream_id = s.id AND d.status = 'pending' ORDER BY d.id LIMIT 1) <= now() AS due
        FROM audit_streams s
       WHERE s.enabled
       ORDER BY random()`);
    this.streamsEnabled = rows.length > 0;
    this.looks++;
    return rows.filter((r) => r.due).map((r) => r.id);
  }

  /** Batches to `streamId` until nothing of it is due (or another process is sending to it): how many were settled. */
  private async sendAll(streamId: string): Promise<number> {
    let settled = 0;
    try {
      for (let n = 1; n > 0 && !this.stopping; settled += n) n = await this.deliverBatch(streamId);
    } catch (err) {
      if (!this.stopping) this.log.warn({ err, streamId }, 'audit stream delivery run failed (retried)');
    }
    return settled;
  }

  /**
   * Claims and sends one batch of `streamId`'s due deliveries, in order. Returns how many were
   * settled (delivered, or failed for good); 0 when none was due, a send failed (the stream
   * waits for its retry), or another process is sending to the stream.
   */
  async deliverBatch(streamId: string): Promise<number> {
    if (!this.dataSource.isInitialized) return 0;
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    let health: Outcome | null = null;
    let settled = 0;
    try {
      await runner.startTransaction();
      const claimed = await this.claim(runner, streamId);
      if (!claimed) {
        await runner.commitTransaction();
        return 0;
      }
      const { stream, rows } = claimed;
      const delivered: string[] = [];
      const started = Date.now();
      for (const row of rows) {
        if (this.stopping || Date.now() - started > BATCH_MS) break;
        if (!row.due) {
          this.wakeAt(new Date(row.next_attempt_at).getTime());
          break;
        }
        const outcome: Outcome = row.payload === null ? { ok: false, error: 'the event is gone (past retention)', final: true } : await this.send(streamId, stream, row);
        health = outcome;
        if (outcome.ok) {
          delivered.push(row.id);
          settled++;
          continue;
        }
        const attempts = row.attempts + 1;
        const next = Date.now() + retryDelay(attempts);
        const failed = outcome.final || next - new Date(row.created_at).getTime() > RETRY_FOR_MS;
        await runner.query(`UPDATE audit_stream_deliveries SET attempts = $2, last_error = $3, status = $4, next_attempt_at = $5 WHERE id = $1`, [
          row.id,
          attempts,
          outcome.error.slice(0, 500),
          failed ? 'failed' : 'pending',
          new Date(next),
        ]);
        if (!failed) {
          this.wakeAt(next);
          break;
        }
        // Failed for good: the stream moves on to its next delivery.
        settled++;
      }
      if (delivered.length) {
        await runner.query(
          `UPDATE audit_stream_deliveries SET status = 'delivered', attempts = attempts + 1, delivered_at = now(), last_error = NULL WHERE id = ANY ($1::bigint[])`,
          [delivered],
        );
      }
      await runner.commitTransaction();
      // The stream's health, after the commit: updating its row inside the transaction would
      // deadlock with a DELETE of the stream (which locks it, then waits for these deliveries).
      if (health) {
        const h = health as Outcome;
        await runner.query(
          h.ok ? `UPDATE audit_streams SET last_success_at = now() WHERE id = $1` : `UPDATE audit_streams SET last_failure_at = now(), last_error = $2 WHERE id = $1`,
          h.ok ? [streamId] : [streamId, h.error.slice(0, 500)],
        );
      }
      return settled;
    } catch (err) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      throw err;
    } finally {
      await runner.release();
    }
  }

  /**
   * In `runner`'s transaction: the stream's send lock, then its oldest pending deliveries
   * (up to BATCH_SIZE) with their payloads, locked. Null when there is nothing to send now:
   * another process holds the stream, the stream is disabled or gone, nothing is pending, or
   * the oldest pending delivery is held by another process (sending later ones would break
   * the order).
   */
  private async claim(runner: QueryRunner, streamId: string): Promise<{ stream: StreamRow; rows: Claimed[] } | null> {
    const [{ locked }] = await runner.query(`SELECT pg_try_advisory_xact_lock($1, hashtext($2)) AS locked`, [STREAM_SEND_LOCK, streamId]);
    if (!locked) return null;
    const [stream]: StreamRow[] = await runner.query(
      `SELECT url, secret_enc, previous_secret_enc, previous_secret_until FROM audit_streams WHERE id = $1 AND enabled`,
      [streamId],
    );
    if (!stream) return null;
    // Locked in id order; `status = 'pending'` is checked again on each locked row, so a row
    // another process settled meanwhile is skipped, never sent twice.
    const rows: (Claimed & { head: string })[] = await runner.query(
      `WITH d AS (
         SELECT id, event_id, event_at, attempts, created_at, next_attempt_at FROM audit_stream_deliveries
          WHERE stream_id = $1 AND status = 'pending'
          ORDER BY id LIMIT $2
          FOR UPDATE SKIP LOCKED)
       SELECT d.id, d.event_id, d.attempts, d.created_at, d.next_attempt_at, d.next_attempt_at <= now() AS due,
              (SELECT min(id) FROM audit_stream_deliveries WHERE stream_id = $1 AND status = 'pending')::text AS head,
              ${AUDIT_EVENT_PAYLOAD_SQL} AS payload
         FROM d ${auditEventJoinSql('d')}
        ORDER BY d.id`,
      [streamId, BATCH_SIZE],
    );
    if (!rows.length || rows[0].head !== rows[0].id) return null;
    return { stream, rows };
  }

  /** Wakes this process's sender when a retry falls due (nothing else announces it). */
  private wakeAt(at: number): void {
    setTimeout(() => this.wake(), Math.max(0, at - Date.now()) + 5).unref();
  }

  private signer(streamId: string, sealed: string, previous: boolean): Webhook {
    let wh = this.secrets.get(sealed);
    if (!wh) {
      wh = new Webhook(this.streams.openSecret(streamId, sealed, previous ? 'previous' : 'current'));
      if (this.secrets.size > 1000) this.secrets.clear();
      this.secrets.set(sealed, wh);
    }
    return wh;
  }

  private async send(streamId: string, stream: StreamRow, row: Claimed): Promise<Outcome> {
    const webhookId = `msg_${row.event_id}`;
    const at = new Date();
    // During a rotation, both signatures, space-separated (Standard Webhooks: a receiver
    // accepts the message if any one of them verifies), so neither secret's holder refuses it.
    const live = stream.previous_secret_enc && stream.previous_secret_until && new Date(stream.previous_secret_until) > at;
    const signers = [this.signer(streamId, stream.secret_enc, false), ...(live ? [this.signer(streamId, stream.previous_secret_enc!, true)] : [])];
    const signature = signers.map((wh) => wh.sign(webhookId, at, row.payload!)).join(' ');
    try {
      const res = await this.guard.fetch(stream.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': webhookId,
          'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
          'webhook-signature': signature,
          'user-agent': 'embed-idp-audit-stream',
        },
        body: row.payload!,
        signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      });
      if (res.status >= 200 && res.status < 300) return { ok: true };
      return { ok: false, error: `the receiver answered ${res.status}` };
    } catch (err) {
      const e = err as Error;
      return { ok: false, error: e.name === 'TimeoutError' ? `no answer within ${DELIVERY_TIMEOUT_MS / 1000} s` : e.message };
    }
  }
}
