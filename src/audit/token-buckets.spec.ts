import { TokenBuckets } from './token-buckets';

describe('TokenBuckets', () => {
  let now = 0;
  const clock = () => now;

  it('allows `capacity` at once, then one per refill interval', () => {
    now = 0;
    const b = new TokenBuckets({ capacity: 3, refillPerSecond: 0.5, maxKeys: 10 }, clock);
    expect([b.take('a'), b.take('a'), b.take('a'), b.take('a')]).toEqual([true, true, true, false]);
    now = 1000;
    expect(b.take('a')).toBe(false);
    now = 2000;
    expect([b.take('a'), b.take('a')]).toEqual([true, false]);
    // Refills up to capacity, not beyond.
    now = 1_000_000;
    expect([b.take('a'), b.take('a'), b.take('a'), b.take('a')]).toEqual([true, true, true, false]);
  });

  it('keeps keys apart', () => {
    now = 0;
    const b = new TokenBuckets({ capacity: 1, refillPerSecond: 0.001, maxKeys: 10 }, clock);
    expect([b.take('a'), b.take('a'), b.take('b')]).toEqual([true, false, true]);
  });

  it('remembers at most maxKeys keys, forgetting the least recently used', () => {
    now = 0;
    const b = new TokenBuckets({ capacity: 1, refillPerSecond: 0.001, maxKeys: 2 }, clock);
    b.take('a');
    b.take('b');
    b.take('a'); // a is now the most recently used
    b.take('c'); // forgets b
    expect(b.size).toBe(2);
    expect(b.take('a')).toBe(false);
    expect(b.take('b')).toBe(true); // forgotten: a full bucket again
  });
});
