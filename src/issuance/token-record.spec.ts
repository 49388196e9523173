import { iatConflictKey, TOKEN_RECORD_SQL, tokenRecordInput, tokenRecordParams, TokenRecordInput } from './token-record';

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

const section = (name: string, next: string) => TOKEN_RECORD_SQL.slice(TOKEN_RECORD_SQL.indexOf(`${name} AS (`), TOKEN_RECORD_SQL.indexOf(`${next} AS (`));

describe('token record statement (a batch of tokens, one statement)', () => {
  it('records tokens, audit events and session use in one statement', () => {
    expect(TOKEN_RECORD_SQL.match(/INSERT INTO issued_tokens/g)).toHaveLength(1);
    expect(TOKEN_RECORD_SQL.match(/INSERT INTO audit_events/g)).toHaveLength(1);
    expect(TOKEN_RECORD_SQL).toContain('UPDATE sessions s SET targets_used');
    expect(TOKEN_RECORD_SQL).toContain('INSERT INTO iat_sequences');
    expect(TOKEN_RECORD_SQL).toContain('ON CONFLICT (instance, email) DO NOTHING');
  });

  it('has one parameter array per column, one element per token, in input order', () => {
    const a = input();
    const b = input({ jti: '00000000-0000-4000-8000-000000000002', now: 1, audit: { ...input().audit, details: { x: 1 } } });
    const params = tokenRecordParams([a, b]);
    const max = Math.max(...[...TOKEN_RECORD_SQL.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
    expect(params).toHaveLength(max);
    for (const col of params) expect(col).toHaveLength(2);
    expect(params[0]).toEqual([a.jti, b.jti]);
    expect(params).toContainEqual([JSON.stringify({ target: 'mb' }), JSON.stringify({ x: 1 })]);
  });

  it('passes the identity lower-cased with its domain, and nulls for a token without one', () => {
    const params = tokenRecordParams([input({ identity: { instance: 'https://bi.example.com', email: 'Ada@Example.com' } }), input()]);
    expect(params).toContainEqual(['https://bi.example.com', null]);
    expect(params).toContainEqual(['ada@example.com', null]);
    expect(params).toContainEqual(['example.com', null]);
  });

  it('keys the iat sequence by scope and lower-cased subject; tokens without one have no key', () => {
    const k = iatConflictKey(input({ iatKey: { scope: 'sisense:https://bi.example.com|', subject: 'Ada@Example.com' } }));
    expect(k).toBe(iatConflictKey(input({ iatKey: { scope: 'sisense:https://bi.example.com|', subject: 'ada@example.com' } })));
    expect(k).not.toBe(iatConflictKey(input({ iatKey: { scope: 'sisense:https://other.example.com|', subject: 'ada@example.com' } })));
    expect(iatConflictKey(input())).toBeUndefined();
  });

  it('guards the iat sequence and the token by ownership: no ownership, no write at all', () => {
    expect(section('seq', 'ok')).toContain('JOIN own USING (n)');
    expect(section('ok', 'tok')).toContain('JOIN own USING (n)');
    // A sequenced token is written only when its sequence advanced (the lead cap).
    expect(section('ok', 'tok')).toContain('i.iat_scope IS NULL OR seq.last_iat IS NOT NULL');
    // The audit event and the session mark only for tokens actually written.
    expect(section('aud', 'ses')).toContain('JOIN tok USING (jti)');
    expect(TOKEN_RECORD_SQL.slice(TOKEN_RECORD_SQL.indexOf('ses AS ('))).toContain('JOIN tok USING (jti)');
  });
});

describe('tokenRecordInput (every flow builds its record and audit event the one way)', () => {
  const base = {
    jti: 'j-1',
    target: { id: 't-1', slug: 'mb' },
    session: { id: 's-1', tenant: { id: 'ten-1' }, user: { id: 'u-1' } },
    meta: { actor: 'user:u-1', ip: '203.0.113.7', requestId: 'r-1' },
    now: 1000,
    ttlSeconds: 300,
  };

  it('takes the ids from the session and target and puts the common audit details first', () => {
    expect(tokenRecordInput({ ...base, type: 'broker.token_issued', details: { resource: 'abc' } })).toEqual({
      jti: 'j-1',
      targetId: 't-1',
      tenantId: 'ten-1',
      userId: 'u-1',
      sessionId: 's-1',
      now: 1000,
      ttlSeconds: 300,
      markSessionTarget: false,
      audit: {
        type: 'broker.token_issued',
        actor: 'user:u-1',
        ip: '203.0.113.7',
        requestId: 'r-1',
        details: { target: 'mb', targetId: 't-1', userId: 'u-1', jti: 'j-1', resource: 'abc' },
      },
    });
  });

  it('carries the SSO handshake\'s identity, iat sequence and session mark', () => {
    const input = tokenRecordInput({
      ...base,
      type: 'sso.token_issued',
      markSessionTarget: true,
      iatKey: { scope: 'sisense:x|', subject: 'a@b.c' },
      identity: { instance: 'https://bi', email: 'a@b.c' },
      details: { flow: 'redirect' },
    });
    expect(input).toMatchObject({ markSessionTarget: true, iatKey: { scope: 'sisense:x|', subject: 'a@b.c' }, identity: { instance: 'https://bi', email: 'a@b.c' } });
    expect(Object.keys(input.audit.details)).toEqual(['target', 'targetId', 'userId', 'jti', 'flow']);
  });
});
