import { PruneRun, pruneInBatches, pruneSql } from './prune';

describe('pruning in batches', () => {
  it('deletes by key through a LIMITed subquery (one or several key columns)', () => {
    expect(pruneSql({ table: 'issued_tokens', key: ['jti'], where: 'exp < $1' }, 10)).toBe(
      'DELETE FROM issued_tokens WHERE jti IN (SELECT jti FROM issued_tokens WHERE exp < $1 LIMIT 10)',
    );
    expect(pruneSql({ table: 'iat_sequences', key: ['scope', 'subject'], where: 'last_iat < $1' }, 10)).toBe(
      'DELETE FROM iat_sequences WHERE (scope, subject) IN (SELECT scope, subject FROM iat_sequences WHERE last_iat < $1 LIMIT 10)',
    );
  });

  it('repeats the statement until a batch comes back short, and adds up the rows', async () => {
    const counts = [3, 3, 1];
    const calls: unknown[][] = [];
    const ds = { query: async (_sql: string, params: unknown[]) => (calls.push(params), [[], counts.shift()]) };
    expect(await pruneInBatches(ds as never, { table: 't', key: ['id'], where: 'x < $1' }, 42, 3)).toBe(7);
    expect(calls).toEqual([[42], [42], [42]]);
  });

  it('runs one prune at a time, logs what it removed and a failure instead of throwing', async () => {
    const logged: string[] = [];
    const log = { log: (m: string) => logged.push(m), error: (_o: unknown, m: string) => logged.push(`error: ${m}`) };
    const runs = new PruneRun(log as never, 'things');
    let release!: () => void;
    let started = 0;
    const slow = () => (started++, new Promise<number>((r) => (release = () => r(2))));
    const first = runs.run([['old things', slow]]);
    await runs.run([['old things', slow]]); // overtaking tick: skipped
    release();
    await first;
    expect(started).toBe(1);
    await runs.run([['old things', async () => { throw new Error('db down'); }]]);
    expect(logged).toEqual(['pruned 2 old things', 'error: pruning things failed']);
  });
});
