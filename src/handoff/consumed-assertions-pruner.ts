import { Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { DataSource } from 'typeorm';

/** Rows deleted per statement: short transactions, no long lock on a busy table. */
const BATCH = 5000;
const EVERY_MS = 60_000;
/**
 * Kept this long after exp. Each process checks exp on its own clock; one running behind the
 * database's by up to this much still refuses the replay of an assertion it thinks is live.
 */
export const CONSUMED_PRUNE_MARGIN_SECONDS = 300;

/**
 * Forgets consumed hand-off jtis once their assertion has expired: an expired assertion is
 * refused on its exp before its jti is ever looked at, so the row has nothing left to guard.
 * "Expired" is read on the database's clock (now()), the one clock every process shares:
 * a process whose clock ran ahead would otherwise delete jtis that the others still accept,
 * and those assertions could be used again.
 */
@Injectable()
export class ConsumedAssertionsPruner {
  private readonly log = new Logger('ConsumedAssertionsPruner');
  private running = false;

  constructor(private readonly dataSource: DataSource) {}

  /** Deletes rows whose exp is more than `marginSeconds` before the database's now(); returns how many. */
  async prune(marginSeconds = CONSUMED_PRUNE_MARGIN_SECONDS): Promise<number> {
    let total = 0;
    for (;;) {
      const [, count] = (await this.dataSource.query(
        `DELETE FROM handoff_consumed_assertions WHERE (tenant_id, jti) IN
           (SELECT tenant_id, jti FROM handoff_consumed_assertions
             WHERE exp < floor(extract(epoch FROM now())) - $1 LIMIT ${BATCH})`,
        [marginSeconds],
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
