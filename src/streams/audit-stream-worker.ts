import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Client, Pool } from 'pg';
import { Webhook } from 'standardwebhooks';
import { DataSource } from 'typeorm';
import { AUDIT_EVENT_PAYLOAD_SQL, auditEventJoinSql } from '../audit/audit-events.sql';
import { OutboundGuard } from '../catalog/outbound';
import { InjectConfig } from '../config/config.module';
import { Config } from '../config/configuration';
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
/** The Postgres channel a trigger notifies when deliveries are queued (see the migration). */
export const DELIVERIES_CHANNEL = 'audit_stream_deliveries';
/**
 * Idle, one loop per process still looks this often, for what no notification announces: a
 * delivery left by a process killed mid-send (its transaction rolled back), one whose retry
 * another process scheduled and then died, anything queued while the listener reconnected.
 */
export const FALLBACK_POLL_MS = 5_000;
const RELISTEN_MS = 1_000;

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
  secret_enc: string;
  previous_secret_enc: string | null;
  previous_secret_until: Date | null;
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
  /** Opened secrets by their sealed value: a rotation (another sealed value) is seen at once, in every process. */
  private readonly secrets = new Map<string, Webhook>();
  private readonly sleepers = new Set<() => void>();
  private listener: Client | null = null;

  constructor(
    private readonly dataSource: DataSource,
    private readonly streams: AuditStreamsService,
    private readonly guard: OutboundGuard,
    @InjectConfig('database') private readonly database: Config<'database'>,
  ) {}

  onApplicationBootstrap(): void {
    void this.listen();
    for (let i = 0; i < CONCURRENCY; i++) this.loops.push(this.loop(i === 0 ? FALLBACK_POLL_MS : null));
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping = true;
    this.wakeAll();
    await Promise.all(this.loops);
    await this.listener?.end().catch(() => undefined);
  }

  /**
   * Idle workers sleep until Postgres notifies DELIVERIES_CHANNEL (LISTEN on a connection of
   * its own, outside the pool: it is held for the process's life; on DATABASE_DIRECT_URL when
   * set, since through a transaction pooler a LISTEN stays on a server connection that other
   * clients then use, and the notifications never reach us). A lost connection is
   * replaced after RELISTEN_MS; meanwhile the fallback poll still delivers.
   */
  private async listen(): Promise<void> {
    if (this.stopping) return;
    const pool = (this.dataSource.driver as unknown as { master?: Pool }).master;
    const retry = () => {
      if (this.listener === client) this.listener = null;
      if (!this.stopping) setTimeout(() => void this.listen(), RELISTEN_MS).unref();
    };
    if (!this.dataSource.isInitialized || !pool) return void setTimeout(() => void this.listen(), RELISTEN_MS).unref();
    const client = new Client(this.database.directUrl ? { ...pool.options, connectionString: this.database.directUrl } : pool.options);
    let retried = false;
    const once = () => {
      if (!retried) (retried = true), retry();
    };
    client.on('notification', () => this.wakeAll());
    client.on('error', (err) => {
      if (!this.stopping) this.log.warn({ err }, 'audit stream listener lost (reconnecting; polling meanwhile)');
      void client.end().catch(() => undefined);
      once();
    });
    client.on('end', once);
    try {
      await client.connect();
      await client.query(`LISTEN ${DELIVERIES_CHANNEL}`);
    } catch (err) {
      if (!this.stopping) this.log.warn({ err }, 'audit stream listener could not connect (retried; polling meanwhile)');
      void client.end().catch(() => undefined);
      return once();
    }
    if (this.stopping) return void client.end().catch(() => undefined);
    this.listener = client;
    // Whatever was queued while nobody listened.
    this.wakeAll();
  }

  /** Until woken (a notification, a scheduled retry, shutdown), or `ms` when given. */
  private sleep(ms: number | null): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        if (timer) clearTimeout(timer);
        this.sleepers.delete(done);
        resolve();
      };
      const timer = ms === null ? null : setTimeout(done, ms);
      timer?.unref();
      this.sleepers.add(done);
    });
  }

  private wakeAll(): void {
    for (const wake of [...this.sleepers]) wake();
  }

  /** `fallbackMs`: this loop polls that often when idle; null: it sleeps until woken. */
  private async loop(fallbackMs: number | null): Promise<void> {
    while (!this.stopping) {
      let worked = false;
      try {
        worked = await this.deliverOne();
      } catch (err) {
        if (!this.stopping) this.log.warn({ err }, 'audit stream delivery run failed (retried)');
      }
      // Work found: there may be more, for the sleeping loops too.
      if (worked) this.wakeAll();
      else if (!this.stopping) await this.sleep(fallbackMs ?? null);
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
               s.secret_enc, s.previous_secret_enc, s.previous_secret_until,
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
        // Nothing notifies when a retry falls due: wake this process's workers then.
        if (!failed) setTimeout(() => this.wakeAll(), next - Date.now()).unref();
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

  private signer(streamId: string, sealed: string, previous: boolean): Webhook {
    let wh = this.secrets.get(sealed);
    if (!wh) {
      wh = new Webhook(this.streams.openSecret(streamId, sealed, previous ? 'previous' : 'current'));
      if (this.secrets.size > 1000) this.secrets.clear();
      this.secrets.set(sealed, wh);
    }
    return wh;
  }

  private async send(row: Claimed): Promise<{ ok: boolean; error: string; final?: boolean }> {
    const webhookId = `msg_${row.event_id}`;
    const at = new Date();
    // During a rotation, both signatures, space-separated (Standard Webhooks: a receiver
    // accepts the message if any one of them verifies), so neither secret's holder refuses it.
    const live = row.previous_secret_enc && row.previous_secret_until && new Date(row.previous_secret_until) > at;
    const signers = [this.signer(row.stream_id, row.secret_enc, false), ...(live ? [this.signer(row.stream_id, row.previous_secret_enc!, true)] : [])];
    const signature = signers.map((wh) => wh.sign(webhookId, at, row.payload!)).join(' ');
    try {
      const res = await this.guard.fetch(row.url, {
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
      if (res.status >= 200 && res.status < 300) return { ok: true, error: '' };
      return { ok: false, error: `the receiver answered ${res.status}` };
    } catch (err) {
      const e = err as Error;
      return { ok: false, error: e.name === 'TimeoutError' ? `no answer within ${DELIVERY_TIMEOUT_MS / 1000} s` : e.message };
    }
  }
}
