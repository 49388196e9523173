import * as os from 'node:os';
import { DomainError } from '../common/errors';

/**
 * Thrown by HashSlots.run when every slot is busy and the waiting line is full: a 429 with
 * Retry-After (RFC 6585 §4) for whatever asked for a hash (a login, the admin API).
 */
export class HashQueueFull extends DomainError {
  constructor(readonly retryAfterSeconds: number) {
    super('busy', 429, 'The service is busy. Try again in a moment.', undefined, 'password hash queue full');
    this.name = 'HashQueueFull';
  }
}

/**
 * At most `size` password hashes at once; at most `maxWaiting` more wait their turn (FIFO);
 * beyond that, `run` refuses at once with HashQueueFull.
 *
 * Why the slots: argon2id runs on the libuv thread pool (4 threads by default), so it never
 * blocks the event loop in the JavaScript sense — but four hashes on a 2-core machine take
 * every core, and the event-loop thread then waits for the CPU: every other request (health
 * checks, SSO handshakes) gets slower. Keeping one core for the event loop bounds that wait.
 *
 * Why the bounded line (issue 8, finding 4): an unbounded line lets one burst of logins delay
 * every other login by the whole burst's hashing time. Refusing at once (429 + Retry-After,
 * RFC 6585 §4) keeps the wait of an admitted request under `maxWaiting / size` hashes.
 */
export class HashSlots {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    readonly size: number = defaultSlots(),
    readonly maxWaiting: number = size * 32,
  ) {}

  /** Slots plus waiting places: how many tasks can be in at once before `run` refuses. */
  get capacity(): number {
    return this.size + this.maxWaiting;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.size) {
      if (this.waiting.length >= this.maxWaiting) throw new HashQueueFull(1);
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else this.running++;
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
