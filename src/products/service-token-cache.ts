import { singleFlight } from './single-flight';

/**
 * A broker's service credential (an OAuth token, a service account's session) per target,
 * shared by every mint until `renewAt`, fetched once per window even when many requests
 * arrive together (singleFlight). Keyed by everything the credential depends on (the
 * target, the host it was issued by, the account, the secret's version): when a target's key
 * changes, the old entry is dropped, not merely left unused, and `onReplaced` drops what the
 * broker kept beside it.
 */
export class ServiceTokenCache<T extends { renewAt: number }> {
  private readonly entries = new Map<string, T>();
  private readonly inflight = new Map<string, Promise<T>>();
  /** The key each target's credential is cached under now. */
  private readonly keyOfTarget = new Map<string, string>();

  constructor(private readonly onReplaced: (previousKey: string) => void = () => undefined) {}

  /** The cache key for `targetId` with these `parts`; a changed key drops the previous entry. */
  keyFor(targetId: string, parts: unknown[]): string {
    const key = JSON.stringify([targetId, ...parts]);
    const previous = this.keyOfTarget.get(targetId);
    if (previous !== undefined && previous !== key) {
      this.entries.delete(previous);
      this.onReplaced(previous);
    }
    this.keyOfTarget.set(targetId, key);
    return key;
  }

  /** The cached credential while it is fresh, else one `fetch` shared by concurrent callers (and kept). */
  get(key: string, fetch: () => Promise<T>): Promise<T> {
    const hit = this.entries.get(key);
    if (hit && hit.renewAt > Date.now()) return Promise.resolve(hit);
    return singleFlight(this.inflight, key, async () => {
      const fresh = await fetch();
      this.entries.set(key, fresh);
      return fresh;
    });
  }

  peek(key: string): T | undefined {
    return this.entries.get(key);
  }

  set(key: string, value: T): void {
    this.entries.set(key, value);
  }

  /** Forgets the credential (the product refused it): the next mint fetches a new one. */
  drop(key: string): void {
    this.entries.delete(key);
  }
}
