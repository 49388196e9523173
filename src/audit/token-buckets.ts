/**
 * Token buckets by key, in memory: each key may spend `capacity` at once and earns
 * `refillPerSecond` back. At most `maxKeys` keys are remembered (the least recently used is
 * forgotten first — it would be nearly full again anyway), so memory stays bounded however many
 * keys (client IPs) an attacker rotates through.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly opts: { capacity: number; refillPerSecond: number; maxKeys: number },
    private readonly now: () => number = Date.now,
  ) {}

  /** Spends one token of `key`'s bucket; false (nothing spent) when it is empty. */
  take(key: string): boolean {
    return this.takeOrWait(key) === 0;
  }

  /**
   * Spends one token of `key`'s bucket and returns 0; when it is empty, spends nothing and
   * returns the whole seconds until one is there (a Retry-After, RFC 9110 §10.2.3).
   */
  takeOrWait(key: string): number {
    const now = this.now();
    const b = this.buckets.get(key);
    const tokens = b ? Math.min(this.opts.capacity, b.tokens + ((now - b.at) / 1000) * this.opts.refillPerSecond) : this.opts.capacity;
    // Re-inserting moves the key to the end: Map order is then least recently used first.
    this.buckets.delete(key);
    if (this.buckets.size >= this.opts.maxKeys) this.buckets.delete(this.buckets.keys().next().value as string);
    const allowed = tokens >= 1;
    this.buckets.set(key, { tokens: allowed ? tokens - 1 : tokens, at: now });
    return allowed ? 0 : Math.max(1, Math.ceil((1 - tokens) / this.opts.refillPerSecond));
  }

  /** Whether `key` has a token to spend now (spends nothing). */
  has(key: string): boolean {
    const b = this.buckets.get(key);
    return !b || Math.min(this.opts.capacity, b.tokens + ((this.now() - b.at) / 1000) * this.opts.refillPerSecond) >= 1;
  }

  get size(): number {
    return this.buckets.size;
  }
}
