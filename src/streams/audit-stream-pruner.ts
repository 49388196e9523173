import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { DataSource } from 'typeorm';
import { PruneRun, pruneInBatches } from '../common/prune';
import { withSession } from '../common/session-runner';
import { InjectConfig } from '../config/config.module';
import { Config } from '../config/configuration';

/** Delivered outbox rows are kept this long (the health's `delivered` counts this window). */
export const DELIVERED_KEPT_MS = 86_400_000;
/** Held (session level) by the one process pruning the outbox; the others skip the run. */
export const OUTBOX_PRUNE_LOCK = 727_401_125;
const INTERVAL_MS = 10 * 60_000;

/**
 * Keeps the delivery outbox (audit_stream_deliveries) bounded: a delivered row is deleted a
 * day after its delivery; a failed one once its event is past AUDIT_RETENTION_DAYS (a replay
 * re-queues from audit_events, never from old deliveries, and an event past retention is gone
 * anyway). Pending rows are never touched: nothing is lost. Deletes go in batches of
 * PRUNE_BATCH rows per statement, each its own short transaction, so no long lock meets the
 * trigger inserting deliveries or the workers claiming them.
 *
 * Not partitioned like audit_events: the outbox is small once pruned (pending rows plus a day
 * of delivered ones), and a partition could only be dropped once every row in it is final,
 * which one stuck receiver would postpone for 3 days.
 */
@Injectable()
export class AuditStreamPruner implements OnApplicationBootstrap {
  private readonly runs = new PruneRun(new Logger(AuditStreamPruner.name), 'the audit stream outbox');

  constructor(
    private readonly dataSource: DataSource,
    private readonly scheduler: SchedulerRegistry,
    @InjectConfig('audit') private readonly config: Config<'audit'>,
    @InjectConfig('database') private readonly database: Pick<Config<'database'>, 'directUrl'> = {},
  ) {}

  onApplicationBootstrap(): void {
    const handle = setInterval(() => void this.runs.run([['audit stream deliveries', async () => (await this.prune()) ?? 0]]), INTERVAL_MS);
    handle.unref();
    this.scheduler.addInterval('prune-audit-stream-deliveries', handle);
  }

  /** One run, unless another process holds the lock (then null): how many rows went. */
  async prune(now = new Date()): Promise<number | null> {
    return withSession(this.dataSource, this.database.directUrl, async (runner) => {
      const [{ locked }] = await runner.query(`SELECT pg_try_advisory_lock($1) AS locked`, [OUTBOX_PRUNE_LOCK]);
      if (!locked) return null;
      try {
        const seconds = (ms: number) => (now.getTime() - ms) / 1000;
        const delivered = await pruneInBatches(
          runner,
          { table: 'audit_stream_deliveries', key: ['id'], where: `status = 'delivered' AND delivered_at < to_timestamp($1)` },
          seconds(DELIVERED_KEPT_MS),
        );
        const failed = await pruneInBatches(
          runner,
          { table: 'audit_stream_deliveries', key: ['id'], where: `status = 'failed' AND event_at < to_timestamp($1)` },
          seconds(this.config.retentionDays * 86_400_000),
        );
        return delivered + failed;
      } finally {
        await runner.query(`SELECT pg_advisory_unlock($1)`, [OUTBOX_PRUNE_LOCK]);
      }
    });
  }
}
