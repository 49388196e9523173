import type { DataSource, EntitySubscriberInterface, QueryRunner } from 'typeorm';
import type { TransactionCommitEvent } from 'typeorm/subscriber/event/TransactionCommitEvent';
import type { TransactionRollbackEvent } from 'typeorm/subscriber/event/TransactionRollbackEvent';

/**
 * Runs callbacks once the transaction they were registered in has committed, and drops them
 * when it (or the savepoint they were registered under) rolls back. A counter moved inside a
 * transaction that later rolls back would disagree with the table it counts; TypeORM's
 * transaction events (EntitySubscriberInterface.afterTransactionCommit/Rollback) say when
 * the outcome is known.
 */
export class AfterCommit implements EntitySubscriberInterface {
  private readonly pending = new WeakMap<QueryRunner, { depth: number; run: () => void }[]>();

  constructor(dataSource: DataSource) {
    dataSource.subscribers.push(this);
  }

  /** Runs `run` now when `runner` holds no open transaction, else after its outermost commit. */
  run(runner: QueryRunner | undefined, run: () => void): void {
    if (!runner?.isTransactionActive) return run();
    const list = this.pending.get(runner) ?? [];
    list.push({ depth: (runner as unknown as { transactionDepth: number }).transactionDepth, run });
    this.pending.set(runner, list);
  }

  afterTransactionCommit(event: TransactionCommitEvent): void {
    const runner = event.queryRunner;
    // Releasing a savepoint commits nothing yet: only the outermost COMMIT does.
    if (runner.isTransactionActive) return;
    const list = this.pending.get(runner);
    this.pending.delete(runner);
    for (const p of list ?? []) p.run();
  }

  afterTransactionRollback(event: TransactionRollbackEvent): void {
    const runner = event.queryRunner;
    const list = this.pending.get(runner);
    if (!list) return;
    if (!runner.isTransactionActive) return void this.pending.delete(runner);
    // ROLLBACK TO SAVEPOINT: what was registered under that savepoint is undone, the rest stays.
    const depth = (runner as unknown as { transactionDepth: number }).transactionDepth;
    this.pending.set(runner, list.filter((p) => p.depth <= depth));
  }
}
