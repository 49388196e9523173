/**
 * Group commit for the hot path: concurrent callers' statements are merged into one statement
 * per batch (one round trip, one commit), and each caller is answered only when its batch has
 * returned — so every guarantee of the single statement (atomic, committed before the answer)
 * holds per batch.
 *
 * Why: each statement costs Postgres a round trip's work and each write a commit, and the
 * service a query's worth of driver work; batched, both are paid once per batch (README
 * "Performance": Postgres CPU per handshake 0.75 -> 0.30 ms, the service's 1.4 -> 1.0 ms,
 * measured side by side). Batching only happens under load: a call arriving while fewer
 * than `maxInFlight` batches run is sent at once, alone, so an idle service adds no latency. While batches are in flight, arrivals queue and leave
 * together when one returns.
 *
 * `conflictKey`: items with the same key never share a batch (a statement cannot update one
 * row twice: e.g. one user's Sisense iat sequence); the later one waits for the next batch.
 *
 * If a batch of several fails, each item is run again on its own, one after the other in the
 * batch's own slot (so a failing batch never holds more than `maxInFlight` connections), so
 * one bad item (or a transient error) does not fail its neighbours; a batch of one fails as
 * the plain statement would. Retrying is safe for the statements batched here: reads, and
 * token records whose jti is a primary key (a write that did commit before its connection
 * broke cannot commit twice; the repository answers such a retry with the committed row).
 *
 * `maxWaitMs`: an item still queued after that long (the database is not keeping up, or a
 * batch hangs) is refused with BatchWaitExceeded (answered 503, see db-unavailable.ts)
 * rather than waiting for ever.
 */
export interface BatcherOptions<I> {
  /** At most this many items in one statement. */
  maxBatch: number;
  /** At most this many batches (pool connections) at once per batcher. */
  maxInFlight: number;
  conflictKey?: (item: I) => string | undefined;
  /** An item waits at most this long in the queue (no limit when absent). */
  maxWaitMs?: number;
}

/** An item waited longer than the batcher's maxWaitMs for a batch: it was never sent. */
export class BatchWaitExceeded extends Error {
  constructor(readonly waitedMs: number) {
    super(`waited ${waitedMs} ms for a database batch; the database is not keeping up`);
    this.name = 'BatchWaitExceeded';
  }
}

/**
 * The hot path's batching, for every batcher on it: one batch in flight per statement. Measured
 * (README "Performance"): 2 or 3 in flight made smaller batches, more Postgres CPU per
 * handshake and less throughput.
 */
export const HOT_PATH_BATCHING = { maxBatch: 64, maxInFlight: 1, maxWaitMs: 10_000 } as const;

interface Pending<I, O> {
  item: I;
  resolve: (o: O) => void;
  reject: (e: unknown) => void;
  deadline?: NodeJS.Timeout;
}

export class Batcher<I, O> {
  private queue: Pending<I, O>[] = [];
  private inFlight = 0;

  /**
   * `run` answers one output per input, in order; `retry` is set when it runs one item again
   * after its batch failed (the batch may have committed before its answer was lost).
   */
  constructor(
    private readonly run: (items: I[], how: { retry: boolean }) => Promise<O[]>,
    private readonly opts: BatcherOptions<I>,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      const pending: Pending<I, O> = { item, resolve, reject };
      this.queue.push(pending);
      this.pump();
      const wait = this.opts.maxWaitMs;
      if (wait !== undefined && this.queue.includes(pending)) {
        pending.deadline = setTimeout(() => {
          const at = this.queue.indexOf(pending);
          if (at < 0) return;
          this.queue.splice(at, 1);
          reject(new BatchWaitExceeded(wait));
        }, wait);
        pending.deadline.unref();
      }
    });
  }

  /** Items waiting for a batch (for tests and metrics). */
  get waiting(): number {
    return this.queue.length;
  }

  private pump(): void {
    while (this.inFlight < this.opts.maxInFlight && this.queue.length) {
      const batch = this.take();
      this.inFlight++;
      void this.execute(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  /** The next batch in arrival order, skipping (leaving queued) items whose key is taken. */
  private take(): Pending<I, O>[] {
    const key = this.opts.conflictKey;
    if (!key) return this.queue.splice(0, this.opts.maxBatch);
    const batch: Pending<I, O>[] = [];
    const rest: Pending<I, O>[] = [];
    const keys = new Set<string>();
    for (const p of this.queue) {
      const k = batch.length < this.opts.maxBatch ? key(p.item) : undefined;
      if (batch.length >= this.opts.maxBatch || (k !== undefined && keys.has(k))) {
        rest.push(p);
        continue;
      }
      if (k !== undefined) keys.add(k);
      batch.push(p);
    }
    this.queue = rest;
    return batch;
  }

  private async execute(batch: Pending<I, O>[]): Promise<void> {
    for (const p of batch) if (p.deadline) clearTimeout(p.deadline);
    try {
      const outs = await this.run(batch.map((p) => p.item), { retry: false });
      if (outs.length !== batch.length) throw new Error(`batch answered ${outs.length} results for ${batch.length} items`);
      batch.forEach((p, i) => p.resolve(outs[i]));
    } catch (err) {
      if (batch.length === 1) {
        batch[0].reject(err);
        return;
      }
      // Alone, each item gets its own answer: the culprit its error, the others their result.
      // One at a time, in this batch's slot: the in-flight limit holds while retrying too.
      for (const p of batch) {
        try {
          const [o] = await this.run([p.item], { retry: true });
          p.resolve(o);
        } catch (e) {
          p.reject(e);
        }
      }
    }
  }
}
