/**
 * Single flight: while `run` for `key` is under way, every other caller for the same key gets
 * its promise instead of starting another (a burst of first requests makes one upstream login
 * or lookup, which products rate-limit per service account). The entry goes when it settles,
 * fulfilled or not, so a failure is not cached.
 */
export async function singleFlight<T>(inflight: Map<string, Promise<T>>, key: string, run: () => Promise<T>): Promise<T> {
  const running = inflight.get(key);
  if (running) return running;
  const p = run();
  inflight.set(key, p);
  try {
    return await p;
  } finally {
    inflight.delete(key);
  }
}
