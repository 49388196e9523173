import type { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';

/** Rows deleted per statement: short transactions, no long lock on a busy table. */
export const PRUNE_BATCH = 5000;

/** What to prune: the rows of `table` (identified by `key`) matching `where`, whose one parameter is $1 (a cutoff, or a margin). */
export interface PruneSpec {
  table: string;
  key: string[];
  where: string;
}

/** The one batched DELETE: at most `batch` rows of the table per statement. */
export function pruneSql(spec: PruneSpec, batch = PRUNE_BATCH): string {
  const key = spec.key.length === 1 ? spec.key[0] : `(${spec.key.join(', ')})`;
  return `DELETE FROM ${spec.table} WHERE ${key} IN (SELECT ${spec.key.join(', ')} FROM ${spec.table} WHERE ${spec.where} LIMIT ${batch})`;
}

/** Deletes the rows `spec` matches for `param` ($1), a batch per statement, until a batch comes back short; returns how many. */
export async function pruneInBatches(dataSource: Pick<DataSource, 'query'>, spec: PruneSpec, param: number, batch = PRUNE_BATCH): Promise<number> {
  const sql = pruneSql(spec, batch);
  let total = 0;
  for (;;) {
    const [, count] = (await dataSource.query(sql, [param])) as [unknown, number];
    total += count;
    if (count < batch) return total;
  }
}

/**
 * A scheduled prune that a slow run does not see overtaken by the next tick, and whose failure
 * is logged rather than thrown into the timer (the next tick tries again).
 */
export class PruneRun {
  private running = false;

  constructor(private readonly log: Pick<Logger, 'log' | 'error'>, private readonly what: string) {}

  async run(steps: [label: string, prune: () => Promise<number>][]): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (const [label, prune] of steps) {
        const n = await prune();
        if (n) this.log.log(`pruned ${n} ${label}`);
      }
    } catch (err) {
      this.log.error({ err }, `pruning ${this.what} failed`);
    } finally {
      this.running = false;
    }
  }
}
