import { ScheduleModule } from '@nestjs/schedule';
import { IAT_SEQUENCE_IDLE_SECONDS, MAX_IAT_LEAD_SECONDS } from '../../src/issuance/iat-sequence';
import { IssuedTokensPruner } from '../../src/issuance/issued-tokens-pruner';
import { createTestModule, TestModule } from '../setup/module';
import { IatSequence, iatSequence } from '../support/iat-sequence';

/**
 * Sisense denies an iat not later than the user's previous one: the sequence must hold under
 * load. This runs the iat step alone (test/support/iat-sequence.ts); the statement production
 * runs it in is covered by token-record.medium-spec.ts.
 */
describe('iat sequence (real Postgres)', () => {
  let t: TestModule;
  let iats: IatSequence;
  const scope = 'sisense:https://bi.example.com|';

  beforeAll(async () => {
    t = await createTestModule({ imports: [ScheduleModule.forRoot()], providers: [IssuedTokensPruner] });
    iats = iatSequence(t.ds);
  });
  afterAll(async () => {
    await t.close();
  });

  it('gives 200 parallel calls for one subject 200 distinct, strictly increasing values', async () => {
    const now = Math.floor(Date.now() / 1000);
    const values = await Promise.all(Array.from({ length: 200 }, () => iats.next(scope, 'burst@example.com', now)));
    expect(new Set(values).size).toBe(200);
    const sorted = [...values].sort((a, b) => a - b);
    // All calls carried the same clock, so the sequence is exactly now .. now + 199.
    expect(sorted[0]).toBe(now);
    expect(sorted[199]).toBe(now + 199);
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]).toBe(sorted[i - 1] + 1);
    const [row] = await t.ds.query(`SELECT last_iat FROM iat_sequences WHERE scope = $1 AND subject = $2`, [scope, 'burst@example.com']);
    expect(Number(row.last_iat)).toBe(now + 199);
  });

  it('follows the clock when calls are spread out, and steps by one within a second', async () => {
    const subject = 'spread@example.com';
    expect(await iats.next(scope, subject, 1_800_000_000)).toBe(1_800_000_000);
    // Same second again: one later, never equal.
    expect(await iats.next(scope, subject, 1_800_000_000)).toBe(1_800_000_001);
    // The clock moved past the last value: back on the clock, not last + 1.
    expect(await iats.next(scope, subject, 1_800_000_030)).toBe(1_800_000_030);
    expect(await iats.next(scope, subject, 1_800_000_090)).toBe(1_800_000_090);
    // A clock that went backwards (another process slightly behind) never reverses the sequence.
    expect(await iats.next(scope, subject, 1_800_000_050)).toBe(1_800_000_091);
  });

  it('stays within a few seconds of the clock for a user signing in a few times in a row', async () => {
    const subject = 'steady@example.com';
    let previous = 0;
    for (let i = 0; i < 5; i++) {
      const before = Math.floor(Date.now() / 1000);
      const iat = await iats.next(scope, subject, Math.floor(Date.now() / 1000));
      const after = Math.floor(Date.now() / 1000);
      expect(iat).toBeGreaterThan(previous);
      // Never behind the clock, and at most one second ahead per login before it.
      expect(iat).toBeGreaterThanOrEqual(before);
      expect(iat).toBeLessThanOrEqual(after + i);
      previous = iat;
    }
  });

  it('keeps separate sequences per subject (case-insensitive) and per Sisense instance/tenant', async () => {
    const other = 'sisense:https://bi2.example.com|';
    const now = 1_900_000_000;
    expect(await iats.next(scope, 'Case@Example.com', now)).toBe(now);
    expect(await iats.next(scope, 'case@example.com', now)).toBe(now + 1);
    expect(await iats.next(scope, 'someone-else@example.com', now)).toBe(now);
    expect(await iats.next(other, 'case@example.com', now)).toBe(now);
  });

  it('refuses to run more than MAX_IAT_LEAD_SECONDS ahead of the clock, and changes nothing then', async () => {
    const subject = 'capped@example.com';
    const now = 1_900_000_000;
    await t.ds.query(`INSERT INTO iat_sequences (scope, subject, last_iat) VALUES ($1, $2, $3)`, [scope, subject, now + MAX_IAT_LEAD_SECONDS - 1]);
    expect(await iats.next(scope, subject, now)).toBe(now + MAX_IAT_LEAD_SECONDS);
    await expect(iats.next(scope, subject, now)).rejects.toMatchObject({ code: 'too_many_sign_ins', status: 429 });
    const [row] = await t.ds.query(`SELECT last_iat FROM iat_sequences WHERE scope = $1 AND subject = $2`, [scope, subject]);
    expect(Number(row.last_iat)).toBe(now + MAX_IAT_LEAD_SECONDS);
    // The clock catching up re-opens it.
    expect(await iats.next(scope, subject, now + 5)).toBe(now + MAX_IAT_LEAD_SECONDS + 1);
  });

  it('forgets sequences idle long enough that they decide nothing (the pruning job)', async () => {
    const now = 2_000_000_000;
    await t.ds.query(`DELETE FROM iat_sequences`); // this test counts what the job deletes
    await iats.next(scope, 'idle@example.com', now - IAT_SEQUENCE_IDLE_SECONDS - 1);
    await iats.next(scope, 'recent@example.com', now - 10);
    expect(await t.app.get(IssuedTokensPruner).pruneIatSequences(now)).toBe(1);
    const left = await t.ds.query(`SELECT subject FROM iat_sequences WHERE subject IN ('idle@example.com', 'recent@example.com')`);
    expect(left).toEqual([{ subject: 'recent@example.com' }]);
    // A forgotten subject starts again from the clock, as it would have anyway.
    expect(await iats.next(scope, 'idle@example.com', now)).toBe(now);
  });

  it('refuses a non-integer clock rather than storing a float iat', async () => {
    await expect(iats.next(scope, 'x@example.com', 1_800_000_000.5)).rejects.toThrow(/whole epoch seconds/);
  });
});
