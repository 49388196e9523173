import { randomBytes, randomUUID } from 'node:crypto';
import { AuditModule } from '../../src/audit/audit.module';
import { AuthModule } from '../../src/auth/auth.module';
import { CryptoModule } from '../../src/crypto/crypto.module';
import { MetricsModule } from '../../src/metrics/metrics.module';
import { MAX_IAT_LEAD_SECONDS } from '../../src/issuance/iat-sequence';
import { SsoRepository } from '../../src/issuance/sso.repository';
import type { TokenRecordInput } from '../../src/issuance/token-record';
import { makeTarget, makeTenant, makeUser } from '../factories';
import { createTestModule, TestModule } from '../setup/module';

/**
 * The production iat path: the one statement that records a Sisense token (SsoRepository.record
 * running tokenRecordStatement with the iat sequence in its `seq` step), on real Postgres.
 * Sisense denies an iat not later than the user's previous one and one more than 5 minutes
 * from its clock (the products' contracts, README): the sequence must hold under parallel sign-ins, and a token
 * is recorded with the iat it will carry, or nothing is written at all.
 */
describe('token record statement with the Sisense iat sequence (real Postgres)', () => {
  let t: TestModule;
  let store: SsoRepository;
  let tenant: { id: string };
  let user: { id: string };
  let target: { id: string; slug: string };
  const instance = 'https://bi.example.com';
  const scope = `sisense:${instance}|`;
  const TTL = 300;

  beforeAll(async () => {
    // The repository and what it injects (sessions, metrics; SecretBox seals the target's secret).
    t = await createTestModule({ imports: [AuthModule, AuditModule, MetricsModule, CryptoModule], providers: [SsoRepository] });
    store = t.app.get(SsoRepository);
    tenant = await makeTenant(t.ds);
    user = await makeUser(t.ds, tenant.id);
    target = await makeTarget(t, { kind: 'sisense', baseUrl: instance, secret: 'sisense-secret-0123456789abcdef' });
  });
  afterAll(async () => {
    await t.close();
  });

  async function session(): Promise<string> {
    const id = randomBytes(32).toString('hex');
    await t.ds.query(`INSERT INTO sessions (id, user_id, tenant_id, expires_at) VALUES ($1, $2, $3, now() + interval '1 hour')`, [id, user.id, tenant.id]);
    return id;
  }

  function input(subject: string, now: number, over: Partial<TokenRecordInput> = {}): TokenRecordInput {
    const jti = randomUUID();
    return {
      jti,
      targetId: target.id,
      tenantId: tenant.id,
      userId: user.id,
      sessionId: null,
      now,
      ttlSeconds: TTL,
      iatKey: { scope, subject },
      identity: { instance, email: subject.toLowerCase() },
      markSessionTarget: true,
      audit: { type: 'sso.token_issued', actor: `user:${user.id}`, ip: null, requestId: null, details: { target: target.slug, jti } },
      ...over,
    };
  }

  const lastIat = async (subject: string, s = scope) => {
    const rows = await t.ds.query(`SELECT last_iat FROM iat_sequences WHERE scope = $1 AND subject = $2`, [s, subject]);
    return rows.length ? Number(rows[0].last_iat) : null;
  };
  const written = async (jti: string) => {
    const [row] = await t.ds.query(
      `SELECT (SELECT count(*)::int FROM issued_tokens WHERE jti = $1) AS tokens,
              (SELECT count(*)::int FROM audit_events WHERE details->>'jti' = $2) AS events`,
      [jti, jti],
    );
    return row as { tokens: number; events: number };
  };

  it('gives 200 parallel records of one subject 200 distinct, strictly increasing iats, each stored with its token and audit event', async () => {
    const now = 1_700_000_000;
    // Claimed beforehand: statements racing the first claim may not see it yet (answering
    // identity_not_owned, which SsoService asks again about; see identity-claim.sql.ts).
    await t.ds.query(`INSERT INTO bi_identities (instance, email, tenant_id, claimed_via) VALUES ($1, $2, $3, 'sso')`, [instance, 'burst@example.com', tenant.id]);
    const inputs = Array.from({ length: 200 }, () => input('burst@example.com', now));
    const outcomes = await Promise.all(inputs.map((i) => store.record(i)));
    expect(outcomes.filter((o) => !o.recorded)).toEqual([]);
    const iats = outcomes.map((o) => (o.recorded ? o.iat : NaN));
    expect(new Set(iats).size).toBe(200);
    // All carried the same clock, so the iats are exactly now .. now + 199.
    expect([...iats].sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => now + i));
    for (const o of outcomes) expect(o).toMatchObject({ recorded: true, exp: (o as { iat: number }).iat + TTL });
    expect(await lastIat('burst@example.com')).toBe(now + 199);
    // Each token row and audit event carries the iat the token was recorded with.
    const rows: { jti: string; iat: string; exp: string; event_iat: number }[] = await t.ds.query(
      `SELECT i.jti, i.iat, i.exp, (a.details->>'iat')::bigint AS event_iat
         FROM issued_tokens i JOIN audit_events a ON a.details->>'jti' = i.jti::text
        WHERE i.jti = ANY($1::uuid[])`,
      [inputs.map((i) => i.jti)],
    );
    expect(rows).toHaveLength(200);
    const byJti = new Map(inputs.map((i, n) => [i.jti, iats[n]]));
    for (const r of rows) {
      expect(Number(r.iat)).toBe(byJti.get(r.jti));
      expect(Number(r.exp)).toBe(byJti.get(r.jti)! + TTL);
      expect(Number(r.event_iat)).toBe(byJti.get(r.jti));
    }
  });

  it('follows the clock when sign-ins are spread out, steps by one within a second, and never goes back', async () => {
    const subject = 'spread@example.com';
    const iatAt = async (now: number) => {
      const o = await store.record(input(subject, now));
      return o.recorded ? o.iat : null;
    };
    expect(await iatAt(1_800_000_000)).toBe(1_800_000_000);
    expect(await iatAt(1_800_000_000)).toBe(1_800_000_001);
    expect(await iatAt(1_800_000_030)).toBe(1_800_000_030);
    // A clock behind the sequence (another process slightly behind) never reverses it.
    expect(await iatAt(1_800_000_010)).toBe(1_800_000_031);
  });

  it('keeps one sequence per subject (case-insensitive) and per Sisense scope', async () => {
    const now = 1_900_000_000;
    const other = `sisense:https://bi2.example.com|`;
    expect(await store.record(input('Case@Example.com', now))).toMatchObject({ recorded: true, iat: now });
    expect(await store.record(input('case@example.com', now))).toMatchObject({ recorded: true, iat: now + 1 });
    expect(await store.record(input('case@example.com', now, { iatKey: { scope: other, subject: 'case@example.com' } }))).toMatchObject({ recorded: true, iat: now });
    expect(await lastIat('case@example.com')).toBe(now + 1);
    expect(await lastIat('case@example.com', other)).toBe(now);
  });

  it('refuses (iat_sequence_ahead) past MAX_IAT_LEAD_SECONDS ahead of the clock and writes nothing: no token, no event, no session mark, no step', async () => {
    const subject = 'capped@example.com';
    const now = 1_900_000_000;
    await t.ds.query(`INSERT INTO iat_sequences (scope, subject, last_iat) VALUES ($1, $2, $3)`, [scope, subject, now + MAX_IAT_LEAD_SECONDS - 1]);
    expect(await store.record(input(subject, now))).toMatchObject({ recorded: true, iat: now + MAX_IAT_LEAD_SECONDS });

    const sid = await session();
    const refused = input(subject, now, { sessionId: sid });
    expect(await store.record(refused)).toEqual({ recorded: false, reason: 'iat_sequence_ahead' });
    expect(await written(refused.jti)).toEqual({ tokens: 0, events: 0 });
    expect(await lastIat(subject)).toBe(now + MAX_IAT_LEAD_SECONDS);
    const [s] = await t.ds.query(`SELECT targets_used FROM sessions WHERE id = $1`, [sid]);
    expect(s.targets_used).toEqual([]);
    // The clock catching up re-opens it.
    expect(await store.record(input(subject, now + 5))).toMatchObject({ recorded: true, iat: now + MAX_IAT_LEAD_SECONDS + 1 });
  });

  it('marks the session as having used the target once, however many tokens it records', async () => {
    const sid = await session();
    for (let i = 0; i < 3; i++) expect(await store.record(input('marks@example.com', 1_950_000_000, { sessionId: sid }))).toMatchObject({ recorded: true });
    const [s] = await t.ds.query(`SELECT targets_used FROM sessions WHERE id = $1`, [sid]);
    expect(s.targets_used).toEqual([target.id]);
    expect(await t.ds.query(`SELECT count(*)::int AS n FROM issued_tokens WHERE session_id = $1`, [sid])).toEqual([{ n: 3 }]);
  });

  it('leaves the sequence alone for an identity another tenant owns (identity_not_owned), writing nothing', async () => {
    const owner = await makeTenant(t.ds);
    const subject = 'owned-elsewhere@example.com';
    await t.ds.query(`INSERT INTO bi_identities (instance, email, tenant_id, claimed_via) VALUES ($1, $2, $3, 'sso')`, [instance, subject, owner.id]);
    await t.ds.query(`INSERT INTO iat_sequences (scope, subject, last_iat) VALUES ($1, $2, $3)`, [scope, subject, 1_950_000_000]);
    const refused = input(subject, 1_950_000_000);
    expect(await store.record(refused)).toEqual({ recorded: false, reason: 'identity_not_owned' });
    expect(await written(refused.jti)).toEqual({ tokens: 0, events: 0 });
    expect(await lastIat(subject)).toBe(1_950_000_000);
  });

  it('is one atomic statement: when the token cannot be written, the iat step is undone and no event is left', async () => {
    const subject = 'atomic@example.com';
    const now = 1_960_000_000;
    const first = input(subject, now);
    expect(await store.record(first)).toMatchObject({ recorded: true, iat: now });
    // The same jti again violates issued_tokens' primary key, after the seq step ran.
    const again = input(subject, now, { jti: first.jti, audit: { ...first.audit, details: { target: target.slug, jti: first.jti, again: true } } });
    await expect(store.record(again)).rejects.toThrow(/issued_tokens_pkey|duplicate key/);
    expect(await lastIat(subject)).toBe(now);
    expect(await t.ds.query(`SELECT count(*)::int AS n FROM audit_events WHERE details->>'again' = 'true'`)).toEqual([{ n: 0 }]);
    expect(await store.record(input(subject, now))).toMatchObject({ recorded: true, iat: now + 1 });
  });

  it('answers the retry of a batch that committed but lost its answer with the committed tokens, not an error, writing nothing twice', async () => {
    const now = Math.floor(Date.now() / 1000);
    const recs = ['lost.a@example.com', 'lost.b@example.com', 'lost.c@example.com'].map((s) => input(s, now, { iatKey: undefined }));
    const real = (store as unknown as { recordBatch: (i: TokenRecordInput[], h: { retry: boolean }) => Promise<unknown> }).recordBatch.bind(store);
    // The batch of two commits, then its connection drops before the answer arrives.
    const lost = jest.spyOn(store as unknown as { recordBatch: typeof real }, 'recordBatch').mockImplementation(async (inputs, how) => {
      const rows = await real(inputs, how);
      if (inputs.length === 2) throw new Error('Connection terminated unexpectedly');
      return rows;
    });
    try {
      const outcomes = await Promise.all(recs.map((r) => store.record(r)));
      expect(lost.mock.calls.map(([inputs, how]) => [inputs.length, how.retry])).toEqual([[1, false], [2, false], [1, true], [1, true]]);
      expect(outcomes).toEqual(recs.map(() => ({ recorded: true, iat: now, exp: now + TTL })));
      for (const r of recs) expect(await written(r.jti)).toEqual({ tokens: 1, events: 1 });
    } finally {
      lost.mockRestore();
    }
  });
});
