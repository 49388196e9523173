import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { DataSource, QueryRunner } from 'typeorm';
import { InjectConfig } from '../config/config.module';
import { Config } from '../config/configuration';
import { withSession } from '../common/session-runner';

/** Months of partitions kept ready ahead of the current one: an insert never finds none. */
export const MONTHS_AHEAD = 3;
/** Held (session level) by the one process doing partition upkeep; the others skip the run. */
export const PARTITION_LOCK = 727_401_124;
/** Upkeep runs at start-up and then this often. */
const INTERVAL_MS = 6 * 3600 * 1000;

export interface AuditPartition {
  name: string;
  /** Exclusive upper bound of `at` (null: none). */
  to: Date;
  /** Lower bound (null: MINVALUE, the table that was there before partitioning). */
  from: Date | null;
}

/**
 * Upkeep of audit_events' monthly partitions (see the migration PartitionAuditEvents):
 * creates the partitions of the next MONTHS_AHEAD months, and drops those whose every row is
 * older than AUDIT_RETENTION_DAYS. Dropping a partition frees its disk at once and costs
 * milliseconds whatever its size; a DELETE of a month of rows would write every row again to
 * the WAL and leave the table as big (VACUUM only makes the space reusable).
 *
 * A partition is detached CONCURRENTLY first (PostgreSQL 14+): that waits for queries reading
 * it (a long export) without blocking inserts, where a plain DROP would queue an
 * ACCESS EXCLUSIVE lock on the whole table behind them, and every handshake behind it.
 */
@Injectable()
export class AuditPartitions implements OnApplicationBootstrap {
  private readonly log = new Logger(AuditPartitions.name);
  private running = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly scheduler: SchedulerRegistry,
    @InjectConfig('audit') private readonly config: Config<'audit'>,
    @InjectConfig('database') private readonly database: Pick<Config<'database'>, 'directUrl'> = {},
  ) {}

  onApplicationBootstrap(): void {
    const handle = setInterval(() => void this.runScheduled(), INTERVAL_MS);
    handle.unref();
    this.scheduler.addInterval('audit-partitions', handle);
    void this.runScheduled();
  }

  /** The partitions, oldest first. */
  async list(runner: { query(sql: string): Promise<any> } = this.dataSource): Promise<AuditPartition[]> {
    const rows: { name: string; from: Date | null; to: Date }[] = await runner.query(`
      SELECT c.relname AS name,
             NULLIF((regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \\(''([^'']+)''\\)'))[1], '')::timestamptz AS "from",
             (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''([^'']+)''\\)'))[1]::timestamptz AS "to"
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = 'audit_events'::regclass
       ORDER BY 3`);
    return rows.map((r) => ({ name: r.name, from: r.from ? new Date(r.from) : null, to: new Date(r.to) }));
  }

  /**
   * One upkeep run, if no other process is doing one (advisory lock): returns what it
   * created and dropped, or null when another process holds the lock.
   */
  async run(now = new Date()): Promise<{ created: string[]; dropped: string[] } | null> {
    return withSession(this.dataSource, this.database.directUrl, async (runner) => {
      const [{ locked }] = await runner.query(`SELECT pg_try_advisory_lock($1) AS locked`, [PARTITION_LOCK]);
      if (!locked) return null;
      try {
        const created = await this.createAhead(runner, now);
        const dropped = await this.dropExpired(runner, now);
        return { created, dropped };
      } finally {
        await runner.query(`SELECT pg_advisory_unlock($1)`, [PARTITION_LOCK]);
      }
    });
  }

  private async createAhead(runner: QueryRunner, now: Date): Promise<string[]> {
    const created: string[] = [];
    const parts = await this.list(runner);
    const horizon = addMonths(monthStart(now), MONTHS_AHEAD + 1);
    // Always from the newest bound on, so partitions never overlap nor leave a gap.
    let from = parts.length ? parts[parts.length - 1].to : monthStart(now);
    while (from < horizon) {
      const to = addMonths(from, 1);
      const name = `audit_events_${from.toISOString().slice(0, 7).replace('-', '_')}`;
      await runner.query(`CREATE TABLE ${name} PARTITION OF audit_events FOR VALUES FROM ('${from.toISOString()}') TO ('${to.toISOString()}')`);
      created.push(name);
      from = to;
    }
    return created;
  }

  private async dropExpired(runner: QueryRunner, now: Date): Promise<string[]> {
    // A detach interrupted half-way (its connection lost) is finished first.
    const pending: { name: string }[] = await runner.query(`
      SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = 'audit_events'::regclass AND i.inhdetachpending`);
    for (const p of pending) await runner.query(`ALTER TABLE audit_events DETACH PARTITION ${p.name} FINALIZE`);
    const cutoff = new Date(now.getTime() - this.config.retentionDays * 86_400_000);
    const dropped: string[] = [];
    for (const p of [...(await this.list(runner)), ...pending.map((p) => ({ name: p.name, to: new Date(0), from: null }))]) {
      if (p.to > cutoff) continue;
      if (!pending.some((x) => x.name === p.name)) await runner.query(`ALTER TABLE audit_events DETACH PARTITION ${p.name} CONCURRENTLY`);
      await runner.query(`DROP TABLE ${p.name}`);
      dropped.push(p.name);
    }
    return dropped;
  }

  private async runScheduled(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const r = await this.run();
      if (r && (r.created.length || r.dropped.length)) this.log.log({ created: r.created, dropped: r.dropped }, 'audit partitions');
    } catch (err) {
      this.log.error({ err }, 'audit partition upkeep failed (retried at the next run)');
    } finally {
      this.running = false;
    }
  }
}

function monthStart(d: Date): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
}

function addMonths(d: Date, n: number): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + n, 1));
}
