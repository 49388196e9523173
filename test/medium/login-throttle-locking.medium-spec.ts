import { LoginThrottleService } from '../../src/auth/login/login-throttle.service';
import { createTestApp, TestApp } from '../setup/app';

const ROUNDS = 60;

/**
 * The login counters are updated by several statements at once under load (reserve, the
 * settlements, release). Any two that lock the same account and IP rows in different orders
 * deadlock, and Postgres aborts one ("deadlock detected": a 500 for a right password). Every
 * pair runs here against each other on the same rows, many times, on the real service.
 */
describe('login_throttles locking (no deadlock between the counter updates)', () => {
  let t: TestApp;
  let throttle: LoginThrottleService;

  beforeAll(async () => {
    t = await createTestApp({ env: { LOGIN_LOCKOUT_THRESHOLD: '1000', LOGIN_IP_LIMIT: '1000000' } });
    throttle = t.app.get(LoginThrottleService);
  });
  afterAll(async () => {
    await t.close();
  });

  const acct = (i: number) => `acct:?locking:user-${i}@example.com`;
  const ip = 'ip:203.0.113.50';

  /** Each operation on the shared IP row and one of two accounts (both operations of a pair on the same one). */
  const ops: Record<string, (i: number) => Promise<unknown>> = {
    reserve: (i) => throttle.reserve(acct(i % 2), ip),
    release: (i) => throttle.release(acct(i % 2), ip),
    settleSuccess: (i) => throttle.settleSuccess(acct(i % 2), ip),
    settleFailure: (i) => t.ds.transaction((m) => throttle.settleFailure(acct(i % 2), m)),
  };
  const names = Object.keys(ops);
  const pairs = names.flatMap((a, i) => names.slice(i).map((b) => [a, b] as const));

  it.each(pairs)('%s against %s: no error in %#', async (a, b) => {
    // Rows to fight over (release and the settlements only update existing rows).
    await Promise.all([0, 1].map((i) => throttle.reserve(acct(i), ip)));
    const errors: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) => (i % 2 ? ops[a] : ops[b])((i >> 1) + round)),
      );
      for (const r of results) if (r.status === 'rejected') errors.push(String((r.reason as Error).message));
    }
    expect(errors).toEqual([]);
  });
});
