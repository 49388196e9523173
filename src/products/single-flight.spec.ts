import { singleFlight } from './single-flight';

describe('singleFlight', () => {
  it('gives concurrent callers of one key the same run, and a later caller a new one', async () => {
    const inflight = new Map<string, Promise<number>>();
    let runs = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const run = async () => {
      runs++;
      await gate;
      return runs;
    };
    const both = Promise.all([singleFlight(inflight, 'k', run), singleFlight(inflight, 'k', run), singleFlight(inflight, 'other', run)]);
    release();
    expect(await both).toEqual([2, 2, 2]);
    expect(runs).toBe(2);
    expect(inflight.size).toBe(0);
    expect(await singleFlight(inflight, 'k', run)).toBe(3);
  });

  it('does not keep a failure: the next caller runs again', async () => {
    const inflight = new Map<string, Promise<string>>();
    await expect(singleFlight(inflight, 'k', async () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(inflight.size).toBe(0);
    expect(await singleFlight(inflight, 'k', async () => 'up')).toBe('up');
  });
});
