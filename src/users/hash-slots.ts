import * as os from 'node:os';

/**
 * At most `size` password hashes at once; the rest wait their turn (FIFO).
 *
 * Why: argon2id runs on the libuv thread pool (4 threads by default), so it never blocks the
 * event loop in the JavaScript sense — but four hashes on a 2-core machine take every core,
 * and the event-loop thread then waits for the CPU: every other request (health checks, SSO
 * handshakes) gets slower. Keeping one core for the event loop bounds that wait; throughput
 * barely changes because the cores were already saturated.
 */
export class HashSlots {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly size: number = defaultSlots()) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter (running stays the same), else frees up.
      if (next) next();
      else this.running--;
    }
  }
}

/** One core for the event loop, the rest for hashing (at least one). */
export function defaultSlots(): number {
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, cores - 1);
}
