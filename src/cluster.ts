import cluster, { type Worker } from 'node:cluster';

/**
 * WORKERS=N (N > 1): this process becomes the primary of Node's cluster module
 * (https://nodejs.org/api/cluster.html) and N workers — each the whole service — share the
 * port (the primary accepts connections and hands them out round robin, Node's default on
 * Linux). One Node process uses one core for JavaScript; the workers use as many.
 *
 * - Start: the first worker alone, until it listens: it runs the migrations (under their
 *   advisory lock in any case) and the start-up bootstrap (the admin key, the first operator)
 *   before any other starts, so those never race; then the others together. A worker that fails to start
 *   stops the start (exit 1), after its own one-line message.
 * - A worker that dies (a crash, an out-of-memory kill) is replaced; one that keeps dying
 *   soon after its start is replaced less and less often (1 s doubling up to 30 s).
 * - SIGTERM / SIGINT: the workers drain one after the other (each as a single process does:
 *   readiness 503, in-flight requests finish within SHUTDOWN_GRACE_PERIOD), the others still
 *   serving meanwhile; then the primary exits 0.
 * - SIGHUP: a rolling restart — for each worker a new one is started and listening before the
 *   old one drains, so the port never has fewer than N workers behind it.
 *
 * The primary loads no application code and opens no database connection.
 */

const FIRST_RESTART_DELAY_MS = 1_000;
const MAX_RESTART_DELAY_MS = 30_000;
/** A worker that lived this long was healthy: its replacement starts after the first delay again. */
const HEALTHY_AFTER_MS = 30_000;

export async function runPrimary(workers: number, log: (msg: string) => void): Promise<void> {
  const slots: (Worker | null)[] = new Array(workers).fill(null);
  const startedAt = new Map<Worker, number>();
  const slotOf = new Map<Worker, number>();
  const delays: number[] = new Array(workers).fill(FIRST_RESTART_DELAY_MS);
  let stopping = false;

  /** Starts a worker for `slot`; resolves once it listens, rejects if it exits before. */
  const start = (slot: number): Promise<Worker> =>
    new Promise((resolve, reject) => {
      const w = cluster.fork();
      startedAt.set(w, Date.now());
      slotOf.set(w, slot);
      const early = (code: number | null, signal: string | null) => reject(new Error(`worker ${slot + 1} exited during start-up (${signal ?? `exit code ${code}`})`));
      w.once('exit', early);
      w.once('listening', () => {
        w.off('exit', early);
        resolve(w);
      });
    });

  /** Drains one worker as SIGTERM drains a single process, and waits for it to exit. */
  const drain = (w: Worker): Promise<void> =>
    new Promise((resolve) => {
      if (w.isDead()) return resolve();
      w.once('exit', () => resolve());
      w.process.kill('SIGTERM');
    });

  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: draining the workers one after the other`);
    void (async () => {
      // Every live worker, a starting one included.
      for (const w of Object.values(cluster.workers ?? {})) if (w) await drain(w);
      process.exit(0);
    })();
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => stop(signal));

  // The first alone (migrations, bootstrap), then the others together.
  slots[0] = await start(0);
  const rest = await Promise.all(slots.slice(1).map((_, i) => start(i + 1)));
  rest.forEach((w, i) => (slots[i + 1] = w));
  if (stopping) return;
  log(`${workers} workers listening (pids ${slots.map((w) => w!.process.pid).join(', ')})`);

  cluster.on('exit', (w, code, signal) => {
    const slot = slotOf.get(w);
    slotOf.delete(w);
    // Not ours to replace: while stopping, a worker a rolling restart drained (its slot has a
    // new one), or a rolling restart's new worker that failed (the old one still serves).
    if (slot === undefined || stopping || (slots[slot] !== w && slots[slot] !== null)) return;
    slots[slot] = null;
    const lived = Date.now() - (startedAt.get(w) ?? 0);
    startedAt.delete(w);
    if (lived >= HEALTHY_AFTER_MS) delays[slot] = FIRST_RESTART_DELAY_MS;
    const delay = delays[slot];
    delays[slot] = Math.min(delay * 2, MAX_RESTART_DELAY_MS);
    log(`worker ${slot + 1} (pid ${w.process.pid}) exited (${signal ?? `exit code ${code}`}); a new one starts in ${delay / 1000} s`);
    const replace = () => {
      if (stopping) return;
      start(slot).then(
        (fresh) => {
          slots[slot] = fresh;
          log(`worker ${slot + 1} replaced (pid ${fresh.process.pid})`);
        },
        // Its exit reached this handler too (the slot still empty): it schedules the next try.
        (err: Error) => log(err.message),
      );
    };
    setTimeout(replace, delay).unref();
  });
  let rolling = false;
  process.on('SIGHUP', () => {
    if (rolling || stopping) return;
    rolling = true;
    void (async () => {
      log('SIGHUP: restarting the workers one after the other');
      for (let i = 0; i < slots.length && !stopping; i++) {
        const old = slots[i];
        const fresh = await start(i).catch((err: Error) => {
          log(`${err.message}: the rolling restart stops, worker ${i + 1} keeps running`);
          return null;
        });
        if (!fresh) break;
        slots[i] = fresh;
        if (old) await drain(old);
      }
      rolling = false;
      log('rolling restart done');
    })();
  });


}
