import { Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { DataSource } from 'typeorm';
import { PruneRun, pruneInBatches } from '../common/prune';

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
  private readonly runs = new PruneRun(new Logger('ConsumedAssertionsPruner'), 'hand-off assertion ids');

  constructor(private readonly dataSource: DataSource) {}

  /** Deletes rows whose exp is more than `marginSeconds` before the database's now(); returns how many. */
  async prune(marginSeconds = CONSUMED_PRUNE_MARGIN_SECONDS): Promise<number> {
    return pruneInBatches(
      this.dataSource,
      { table: 'handoff_consumed_assertions', key: ['tenant_id', 'jti'], where: 'exp < floor(extract(epoch FROM now())) - $1' },
      marginSeconds,
    );
  }

  @Interval('prune-handoff-assertions', EVERY_MS)
  runScheduled(): Promise<void> {
    return this.runs.run([['expired hand-off assertion ids', () => this.prune()]]);
  }
}
