import * as os from 'node:os';
import { DomainError } from '../common/errors';

/**
 * Thrown by HashSlots.run when every slot is busy and the waiting line is full, or when the
 * client already has its share of hashes in: a 429 with Retry-After (RFC 6585 §4) for
 * whatever asked for a hash (a login, the admin API).
 */
export class HashQueueFull extends DomainError {
  constructor(
    readonly retryAfterSeconds: number,
    /** The client already had its share in (HashClient caps); the line itself may have room. */
    readonly clientCap = false,
  ) {
    super('busy', 429, 'The service is busy. Try again in a moment.', undefined, clientCap ? 'password hashes of this client at their cap' : 'password hash queue full');
    this.name = 'HashQueueFull';
  }
}

/**
 * Who asks for a hash, for fairness between clients: `queue` names the line it waits in
 * (clients take turns), `caps` bounds how many hashes each named party may have in at once
 * (hashing or waiting). A login passes its client IP as the queue and caps the IP and the
 * account; hashing without a client (the admin API) shares one anonymous line.
 */
export interface HashClient {
  queue: string;
  caps?: { key: string; max: number }[];
}

const ANONYMOUS: HashClient = { queue: '' };

/**
 * At most `size` password hashes at once; at most `maxWaiting` more wait their turn; beyond
 * that, `run` refuses at once with HashQueueFull. So does a client already holding its cap.
 *
 * Why the slots: argon2id runs on the libuv thread pool (4 threads by default), so it never
 * blocks the event loop in the JavaScript sense — but four hashes on a 2-core machine take
 * every core, and the event-loop thread then waits for the CPU: every other request (health
 * checks, SSO handshakes) gets slower. Keeping one core for the event loop bounds that wait.
 *
 * Why the bounded line: an unbounded line lets one burst of logins delay every other login by
 * the whole burst's hashing time. Refusing at once (429 + Retry-After, RFC 6585 §4) keeps the
 * wait of an admitted request under `maxWaiting / size` hashes.
 *
 * Why per-client caps and turns (fair queuing, round robin between the clients waiting): with
 * one first-come line, one client signing in ordinary accounts with many requests in flight
 * keeps the line full — every other client waits behind all of it or is refused. With a cap
 * it holds a few places at most, and a freed slot goes to the next CLIENT in turn, not the
 * next request: a bystander waits for at most one hash per client ahead of it.
 */
export class HashSlots {
  private running = 0;
  private waitingCount = 0;
  /** Waiters per client queue; Map order is the turn order (the head is served next). */
  private readonly lines = new Map<string, (() => void)[]>();
  /** Hashes in (running or waiting) per capped key. */
  private readonly held = new Map<string, number>();

  constructor(
    readonly size: number = defaultSlots(),
    readonly maxWaiting: number = size * 32,
  ) {}

  /** Slots plus waiting places: how many tasks can be in at once before `run` refuses. */
  get capacity(): number {
    return this.size + this.maxWaiting;
  }

  /** Tasks waiting for a slot (all clients). */
  get waiting(): number {
    return this.waitingCount;
  }

  async run<T>(task: () => Promise<T>, client: HashClient = ANONYMOUS): Promise<T> {
    const caps = client.caps ?? [];
    if (caps.some((c) => (this.held.get(c.key) ?? 0) >= c.max)) throw new HashQueueFull(1, true);
    if (this.running >= this.size && this.waitingCount >= this.maxWaiting) throw new HashQueueFull(1);
    for (const c of caps) this.held.set(c.key, (this.held.get(c.key) ?? 0) + 1);
    try {
      if (this.running >= this.size) {
        this.waitingCount++;
        await new Promise<void>((resolve) => {
          const line = this.lines.get(client.queue);
          if (line) line.push(resolve);
          else this.lines.set(client.queue, [resolve]);
        });
      } else this.running++;
      try {
        return await task();
      } finally {
        this.passSlot();
      }
    } finally {
      for (const c of caps) {
        const n = (this.held.get(c.key) ?? 1) - 1;
        if (n > 0) this.held.set(c.key, n);
        else this.held.delete(c.key);
      }
    }
  }

  /** The slot passes straight to the head client's first waiter (running stays the same), else frees up. */
  private passSlot(): void {
    const head = this.lines.entries().next();
    if (head.done) {
      this.running--;
      return;
    }
    const [queue, line] = head.value;
    const next = line.shift()!;
    // That client goes to the back of the turn order (or leaves it, with nobody left waiting).
    this.lines.delete(queue);
    if (line.length) this.lines.set(queue, line);
    this.waitingCount--;
    next();
  }
}

/** One core for the event loop, the rest for hashing (at least one). */
export function defaultSlots(): number {
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, cores - 1);
}
