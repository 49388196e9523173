import { tokenRecordStatement, TokenRecordInput } from './token-record';

const input = (over: Partial<TokenRecordInput> = {}): TokenRecordInput => ({
  jti: '00000000-0000-4000-8000-000000000001',
  targetId: '00000000-0000-4000-8000-0000000000aa',
  tenantId: '00000000-0000-4000-8000-0000000000bb',
  userId: '00000000-0000-4000-8000-0000000000cc',
  sessionId: 'f'.repeat(64),
  now: 1_800_000_000,
  ttlSeconds: 120,
  markSessionTarget: true,
  audit: { type: 'sso.token_issued', actor: 'user:x', ip: null, requestId: null, details: { target: 'mb' } },
  ...over,
});

describe('tokenRecordStatement', () => {
  it('records token, audit event and session use in one statement, iat from our clock', () => {
    const { sql, params } = tokenRecordStatement(input());
    expect(sql.match(/INSERT INTO issued_tokens/g)).toHaveLength(1);
    expect(sql.match(/INSERT INTO audit_events/g)).toHaveLength(1);
    expect(sql).toContain('UPDATE sessions SET targets_used');
    expect(sql).not.toContain('iat_sequences');
    expect(params).toContain(1_800_000_000);
    expect(params).toContain(JSON.stringify({ target: 'mb' }));
    // Every placeholder has its parameter.
    const max = Math.max(...[...sql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
    expect(max).toBe(params.length);
  });

  it('leaves the session alone when asked (signed embeds) or when there is none', () => {
    expect(tokenRecordStatement(input({ markSessionTarget: false })).sql).not.toContain('UPDATE sessions');
    expect(tokenRecordStatement(input({ sessionId: null })).sql).not.toContain('UPDATE sessions');
  });

  it('takes iat from the per-subject sequence when the product needs strictly increasing iats', () => {
    const { sql, params } = tokenRecordStatement(input({ iatKey: { scope: 'sisense:https://bi.example.com|', subject: 'Ada@Example.com' } }));
    expect(sql).toContain('INSERT INTO iat_sequences');
    expect(params).toContain('ada@example.com');
  });

  it('with an identity: claims it and writes token and iat only when the tenant owns it', () => {
    const identity = { instance: 'https://bi.example.com', email: 'Ada@Example.com' };
    const { sql, params } = tokenRecordStatement(input({ identity, iatKey: { scope: 'sisense:https://bi.example.com|', subject: 'ada@example.com' } }));
    expect(sql).toContain('INSERT INTO bi_identities');
    expect(sql).toContain('ON CONFLICT (instance, email) DO NOTHING');
    expect(params).toEqual(expect.arrayContaining(['https://bi.example.com', 'ada@example.com', 'example.com']));
    // The iat sequence and the token are both guarded: no ownership, no write at all.
    const seq = sql.slice(sql.indexOf('seq AS'), sql.indexOf('tok AS'));
    expect(seq).toContain('WHERE EXISTS (SELECT 1 FROM own)');
    expect(sql).toMatch(/SELECT EXISTS \(SELECT 1 FROM own\) AS owned/);
    const plain = tokenRecordStatement(input({ identity })).sql;
    expect(plain.slice(plain.indexOf('seq AS'), plain.indexOf('tok AS'))).toContain('WHERE EXISTS (SELECT 1 FROM own)');
    const max = Math.max(...[...sql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
    expect(max).toBe(params.length);
  });

  it('without an identity (signed embeds): no claim, always owned', () => {
    const { sql } = tokenRecordStatement(input({ markSessionTarget: false }));
    expect(sql).not.toContain('bi_identities');
    expect(sql).toContain('SELECT true AS owned');
  });

  it('produces one text per variant, so it can be a named (prepared) statement', () => {
    const a = tokenRecordStatement(input()).sql;
    const b = tokenRecordStatement(input({ jti: '00000000-0000-4000-8000-000000000002', now: 1, audit: { ...input().audit, details: { x: 1 } } })).sql;
    expect(a).toBe(b);
  });
});
