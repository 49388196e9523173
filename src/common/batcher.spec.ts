import { BatchWaitExceeded, Batcher } from './batcher';
import { isDatabaseUnavailable } from './db-unavailable';

const tick = () => new Promise((r) => setImmediate(r));

/** A run function whose batches stay open until released, recording what each batch held. */
function gate<I>() {
  const batches: I[][] = [];
  const releases: (() => void)[] = [];
  const run = (items: I[]) => {
    batches.push(items);
    return new Promise<string[]>((resolve) => releases.push(() => resolve(items.map((i) => `out:${String(i)}`))));
  };
  return { batches, releases, run };
}

describe('Batcher (group commit)', () => {
  it('sends a call at once, alone, when nothing is in flight', async () => {
    const g = gate<number>();
    const b = new Batcher(g.run, { maxBatch: 10, maxInFlight: 1 });
    const p = b.submit(1);
    expect(g.batches).toEqual([[1]]);
    g.releases[0]();
    await expect(p).resolves.toBe('out:1');
  });

  it('queues calls while batches are in flight and sends them together, each answered with its own result', async () => {
    const g = gate<number>();
    const b = new Batcher(g.run, { maxBatch: 10, maxInFlight: 1 });
    const ps = [1, 2, 3, 4].map((i) => b.submit(i));
    expect(g.batches).toEqual([[1]]);
    expect(b.waiting).toBe(3);
    g.releases[0]();
    await tick();
    expect(g.batches).toEqual([[1], [2, 3, 4]]);
    g.releases[1]();
    await expect(Promise.all(ps)).resolves.toEqual(['out:1', 'out:2', 'out:3', 'out:4']);
  });

  it('answers nobody before their batch has returned', async () => {
    const g = gate<number>();
    const b = new Batcher(g.run, { maxBatch: 10, maxInFlight: 1 });
    let answered = false;
    void b.submit(1);
    void b.submit(2).then(() => (answered = true));
    g.releases[0]();
    await tick();
    expect(answered).toBe(false);
    g.releases[1]();
    await tick();
    expect(answered).toBe(true);
  });

  it('respects maxBatch and maxInFlight', async () => {
    const g = gate<number>();
    const b = new Batcher(g.run, { maxBatch: 2, maxInFlight: 2 });
    const ps = [1, 2, 3, 4, 5, 6].map((i) => b.submit(i));
    expect(g.batches).toEqual([[1], [2]]);
    g.releases[0]();
    await tick();
    expect(g.batches).toEqual([[1], [2], [3, 4]]);
    g.releases[1]();
    await tick();
    expect(g.batches).toEqual([[1], [2], [3, 4], [5, 6]]);
    g.releases[2]();
    g.releases[3]();
    await expect(Promise.all(ps)).resolves.toHaveLength(6);
  });

  it('never puts two items with one conflict key in a batch; the later waits, order kept', async () => {
    const g = gate<string>();
    const b = new Batcher(g.run, { maxBatch: 10, maxInFlight: 1, conflictKey: (s) => (s.startsWith('k') ? s.slice(0, 2) : undefined) });
    const ps = ['x0', 'k1a', 'k1b', 'k2a', 'y', 'k1c'].map((i) => b.submit(i));
    g.releases[0]();
    await tick();
    expect(g.batches[1]).toEqual(['k1a', 'k2a', 'y']);
    g.releases[1]();
    await tick();
    expect(g.batches[2]).toEqual(['k1b']);
    g.releases[2]();
    await tick();
    expect(g.batches[3]).toEqual(['k1c']);
    g.releases[3]();
    await expect(Promise.all(ps)).resolves.toHaveLength(6);
  });

  it('when a batch fails, runs each item alone: the culprit gets its error, the others their result', async () => {
    const calls: number[][] = [];
    let hold: (() => void) | undefined;
    const b = new Batcher<number, number>(
      async (items) => {
        calls.push(items);
        if (calls.length === 1) await new Promise<void>((r) => (hold = r));
        if (items.includes(13)) throw new Error('bad item 13');
        return items.map((i) => i * 2);
      },
      { maxBatch: 10, maxInFlight: 1 },
    );
    const first = b.submit(1);
    const rest = [2, 13, 4].map((i) => b.submit(i).then((v) => ({ v }), (e: Error) => ({ e: e.message })));
    hold!();
    await expect(first).resolves.toBe(2);
    await expect(Promise.all(rest)).resolves.toEqual([{ v: 4 }, { e: 'bad item 13' }, { v: 8 }]);
    expect(calls).toEqual([[1], [2, 13, 4], [2], [13], [4]]);
  });

  it('a batch of one fails as the plain call would', async () => {
    const b = new Batcher<number, number>(async () => {
      throw new Error('down');
    }, { maxBatch: 10, maxInFlight: 1 });
    await expect(b.submit(1)).rejects.toThrow('down');
  });

  it('retries a failed batch item by item within its in-flight limit', async () => {
    let running = 0;
    let most = 0;
    let calls = 0;
    const b = new Batcher<number, number>(
      async (items) => {
        calls++;
        running++;
        most = Math.max(most, running);
        await tick();
        running--;
        if (calls === 2) throw new Error('connection reset');
        return items;
      },
      { maxBatch: 10, maxInFlight: 1 },
    );
    const first = b.submit(0);
    const rest = [1, 2, 3, 4].map((i) => b.submit(i));
    await first;
    await expect(Promise.all(rest)).resolves.toEqual([1, 2, 3, 4]);
    expect(calls).toBe(6);
    expect(most).toBe(1);
  });

  it('refuses an item queued longer than maxWaitMs (never sent), as a database that is not keeping up', async () => {
    jest.useFakeTimers();
    try {
      const g = gate<number>();
      const b = new Batcher<number, string>(g.run, { maxBatch: 10, maxInFlight: 1, maxWaitMs: 1000 });
      const first = b.submit(1);
      const late = b.submit(2).catch((e: unknown) => e);
      jest.advanceTimersByTime(999);
      expect(b.waiting).toBe(1);
      jest.advanceTimersByTime(1);
      const err = await late;
      expect(err).toBeInstanceOf(BatchWaitExceeded);
      expect(isDatabaseUnavailable(err)).toBe(true);
      expect(b.waiting).toBe(0);
      g.releases[0]();
      await expect(first).resolves.toBe('out:1');
      expect(g.batches).toEqual([[1]]);
    } finally {
      jest.useRealTimers();
    }
  });
});
