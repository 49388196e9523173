import { defaultSlots, HashQueueFull, HashSlots } from './hash-slots';

const tick = () => new Promise((r) => setImmediate(r));

describe('HashSlots', () => {
  it('never runs more than `size` tasks at once, and runs them all in arrival order', async () => {
    const slots = new HashSlots(2);
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    const task = (i: number) => async () => {
      started.push(i);
      running++;
      peak = Math.max(peak, running);
      await tick();
      await tick();
      running--;
      return i;
    };
    const results = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => slots.run(task(i))));
    expect(results).toEqual([0, 1, 2, 3, 4, 5]);
    expect(peak).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('frees the slot when a task fails', async () => {
    const slots = new HashSlots(1);
    await expect(slots.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(slots.run(async () => 'next')).resolves.toBe('next');
  });

  it('keeps at least one slot, and one core for the event loop when there are more', () => {
    expect(defaultSlots()).toBeGreaterThanOrEqual(1);
  });
});

describe('HashSlots with a full waiting line', () => {
  it('refuses at once with HashQueueFull, and admits again once a place frees up', async () => {
    const slots = new HashSlots(1, 2);
    expect(slots.capacity).toBe(3);
    const gates: (() => void)[] = [];
    const held = () => slots.run(() => new Promise<void>((r) => gates.push(r)));
    const admitted = [held(), held(), held()];
    await expect(slots.run(async () => 'late')).rejects.toBeInstanceOf(HashQueueFull);
    await expect(slots.run(async () => 'late')).rejects.toMatchObject({ retryAfterSeconds: 1 });
    // Release the running task: the first waiter takes the slot, one waiting place frees up.
    gates.shift()!();
    await tick();
    const again = slots.run(async () => 'admitted');
    while (gates.length) {
      gates.shift()!();
      await tick();
      await tick();
    }
    await Promise.all(admitted);
    await expect(again).resolves.toBe('admitted');
  });
});
