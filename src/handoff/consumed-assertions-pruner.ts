import { Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { DataSource } from 'typeorm';

/** Rows deleted per statement: short transactions, no long lock on a busy table. */
const BATCH = 5000;
const EVERY_MS = 60_000;

/**
 * Forgets consumed hand-off jtis once their assertion has expired: an expired assertion is
 * refused on its exp before its jti is ever looked at, so the row has nothing left to guard.
 */
@Injectable()
export class ConsumedAssertionsPruner {
  private readonly log = new Logger('ConsumedAssertionsPruner');
  private running = false;

  constructor(private readonly dataSource: DataSource) {}

  /** Deletes rows whose exp is before `nowSeconds`; returns how many. */
  async prune(nowSeconds = Math.floor(Date.now() / 1000)): Promise<number> {
    let total = 0;
    for (;;) {
      const [, count] = (await this.dataSource.query(
        `DELETE FROM handoff_consumed_assertions WHERE (tenant_id, jti) IN
           (SELECT tenant_id, jti FROM handoff_consumed_assertions WHERE exp < $1 LIMIT ${BATCH})`,
        [nowSeconds],
      )) as [unknown, number];
      total += count;
      if (count < BATCH) return total;
    }
  }

  @Interval('prune-handoff-assertions', EVERY_MS)
  async runScheduled(): Promise<void> {
    if (this.running) return; // a slow run is not overtaken by the next tick
    this.running = true;
    try {
      const n = await this.prune();
      if (n) this.log.log(`pruned ${n} expired hand-off assertion ids`);
    } catch (err) {
      this.log.error({ err }, 'pruning hand-off assertion ids failed');
    } finally {
      this.running = false;
    }
  }
}
