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

describe('HashSlots between clients', () => {
  /** A task that records when it starts and ends when the test opens its gate. */
  function gated(slots: HashSlots, log: string[], gates: (() => void)[]) {
    return (name: string, client?: { queue: string; caps?: { key: string; max: number }[] }) =>
      slots.run(async () => {
        log.push(name);
        await new Promise<void>((r) => gates.push(r));
        return name;
      }, client);
  }

  it('gives a freed slot to the next client in turn, not the next request in line', async () => {
    const slots = new HashSlots(1, 100);
    const log: string[] = [];
    const gates: (() => void)[] = [];
    const run = gated(slots, log, gates);
    const flood = Array.from({ length: 6 }, (_, i) => run(`f${i}`, { queue: 'ip:flood' }));
    const other = run('b0', { queue: 'ip:bystander' });
    const admin = run('a0');
    expect(slots.waiting).toBe(7);
    while (gates.length) {
      gates.shift()!();
      await tick();
      await tick();
    }
    await Promise.all([...flood, other, admin]);
    // f0 was running; then the lines take turns: flood, bystander, anonymous, flood...
    expect(log).toEqual(['f0', 'f1', 'b0', 'a0', 'f2', 'f3', 'f4', 'f5']);
    expect(slots.waiting).toBe(0);
  });

  it('refuses a client at its cap at once, while the line has room for others, and admits it again when one of its tasks ends', async () => {
    const slots = new HashSlots(1, 100);
    const log: string[] = [];
    const gates: (() => void)[] = [];
    const run = gated(slots, log, gates);
    const caps = (acct: string) => ({ queue: 'ip:x', caps: [{ key: 'ip:x', max: 2 }, { key: acct, max: 1 }] });
    const first = run('x1', caps('acct:1'));
    const second = run('x2', caps('acct:2'));
    await expect(run('x3', caps('acct:3'))).rejects.toMatchObject({ clientCap: true, retryAfterSeconds: 1 });
    // The account cap, with the IP under its own.
    gates.shift()!();
    await first;
    await expect(run('x4', caps('acct:2'))).rejects.toBeInstanceOf(HashQueueFull);
    const other = run('y1', { queue: 'ip:y', caps: [{ key: 'ip:y', max: 2 }] });
    const third = run('x5', caps('acct:3'));
    while (gates.length) {
      gates.shift()!();
      await tick();
      await tick();
    }
    await expect(Promise.all([second, other, third])).resolves.toEqual(['x2', 'y1', 'x5']);
    expect(log).toEqual(['x1', 'x2', 'y1', 'x5']);
  });
});
