import jwt from 'jsonwebtoken';
import { Client } from 'pg';
import request from 'supertest';
import { AuthGuard } from '../../src/auth/auth.guard';
import { SessionsService } from '../../src/auth/sessions.service';
import { HandoffService } from '../../src/inbound/handoff.service';
import { identityOwnedElsewhere, SsoService } from '../../src/issuance/sso.service';
import { MetricsService } from '../../src/metrics/metrics.service';
import { ensureGroup, grantAccess, makeApiKey, makeTarget, makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { signAssertion } from '../support/handoff';

/**
 * The hand-off fast path (src/issuance/handoff-fast-path.ts) answers POST /sso/<target> in
 * front of Express and Nest. Two apps on one database, the fast path on (default) and off
 * (SSO_FAST_PATH=off): every answer must be the same — a success's status, headers and
 * cookie, every refusal's status and page, each audited once — and an assertion is good once
 * whichever path took it. The fast path's own counter says which path answered.
 */
const MB_SECRET = 'mb-jwt-secret-for-handoff-fast-0123456789ab';
const SECRET = 'host-app-handoff-secret-fast-0123456789abcd';
const MB = 'https://mb-handoff-fast.example.com';
// pg's own query, before any spy replaces it.
const realQuery = Client.prototype.query;

describe('hand-off fast path: same answers as the full pipeline', () => {
  let fast: TestApp;
  let full: TestApp;
  let target: { id: string; slug: string };
  let key: string;
  let guard: jest.SpyInstance;

  beforeAll(async () => {
    fast = await createTestApp({ env: { TRUST_PROXY: '1' } });
    full = await createTestApp({ env: { TRUST_PROXY: '1', SSO_FAST_PATH: 'off' }, database: fast.db });
    target = await makeTarget(fast, { kind: 'metabase', slug: 'mb-hf', baseUrl: MB, secret: MB_SECRET });
    key = await makeApiKey(fast.ds);
    guard = jest.spyOn(AuthGuard.prototype, 'canActivate');
  });
  afterAll(async () => {
    guard.mockRestore();
    await full.close({ keepDatabase: true });
    await fast.close();
  });
  beforeEach(() => guard.mockClear());

  async function handoffTenant(p: { jit?: boolean; access?: boolean } = {}) {
    const tenant = await makeTenant(fast.ds);
    await request(fast.http).post(`/api/v1/tenants/${tenant.id}/handoff/secrets`).set({ Authorization: `Bearer ${key}` }).send({ secret: SECRET }).expect(201);
    await request(fast.http).patch(`/api/v1/tenants/${tenant.id}/handoff`).set({ Authorization: `Bearer ${key}` }).send({ jitProvisioning: p.jit ?? false }).expect(200);
    if (p.access !== false) await grantAccess(fast.ds, tenant.id, target.id, { groupMappings: { analysts: ['Analysts'] } });
    await ensureGroup(fast.ds, tenant.id, 'analysts');
    return tenant;
  }

  const counter = async (app: TestApp, outcome: string) => {
    const m = await app.app.get(MetricsService).registry.getSingleMetric('embed_idp_handoff_fast_path_total')!.get();
    return m.values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
  };
  const post = (app: TestApp, form: Record<string, string>, path = `/sso/${target.slug}`) =>
    request(app.http).post(path).type('form').set('X-Forwarded-For', '203.0.113.9').set('User-Agent', 'spec-browser').send(form);
  const audits = async (type: string, tenantId: string) =>
    (await fast.ds.query(`SELECT actor, ip, details FROM audit_events WHERE type = $1 AND tenant_id = $2 ORDER BY id`, [type, tenantId])) as {
      actor: string;
      ip: string;
      details: Record<string, unknown>;
    }[];
  const VARYING = new Set(['date', 'x-request-id', 'location', 'content-length', 'connection', 'keep-alive', 'set-cookie', 'etag']);
  const stable = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).filter(([k]) => !VARYING.has(k)));
  /** Set-Cookie without the token and the second of Expires (each response has its own). */
  const cookieShape = (h: Record<string, unknown>) =>
    ([] as string[]).concat((h['set-cookie'] as string[] | undefined) ?? []).map((c) => c.replace(/=[A-Za-z0-9_-]{43};/, '=<token>;').replace(/Expires=[^;]+/, 'Expires=<date>'));
  const expiresOf = (h: Record<string, unknown>) => Date.parse(/Expires=([^;]+)/.exec(String(h['set-cookie']))![1]);

  it('answers a known user (JIT off) in front of Nest: the same 302, headers and cookie as the full pipeline, audited the same', async () => {
    const tenant = await handoffTenant();
    const user = await makeUser(fast.ds, tenant.id, { email: 'known@fast.example', groups: ['analysts'] });
    const answered = await counter(fast, 'answered');
    guard.mockClear();
    const a = await post(fast, { assertion: signAssertion(SECRET, tenant.slug, { email: 'known@fast.example' }), return_to: '/dashboard/2' });
    expect(a.status).toBe(302);
    expect(guard).not.toHaveBeenCalled(); // answered in front of Nest
    expect((await counter(fast, 'answered')) - answered).toBe(1);
    const b = await post(full, { assertion: signAssertion(SECRET, tenant.slug, { email: 'known@fast.example' }), return_to: '/dashboard/2' });
    expect(b.status).toBe(302);
    expect(guard).toHaveBeenCalled();

    expect(stable(a.headers)).toEqual(stable(b.headers));
    expect(a.headers['cache-control']).toBe('no-store');
    expect(a.headers['content-security-policy']).toBeDefined();
    expect(a.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(cookieShape(a.headers)).toEqual(cookieShape(b.headers));
    expect(cookieShape(a.headers)[0]).toMatch(/^eidp_session=<token>; Max-Age=\d+; Path=\/; Expires=<date>; HttpOnly; SameSite=Lax$/);
    expect(Math.abs(expiresOf(a.headers) - expiresOf(b.headers))).toBeLessThan(5000);
    const [la, lb] = [new URL(a.headers.location), new URL(b.headers.location)];
    expect(la.origin + la.pathname).toBe(`${MB}/auth/sso`);
    expect(la.origin + la.pathname + la.searchParams.get('return_to')).toBe(lb.origin + lb.pathname + lb.searchParams.get('return_to'));
    const claims = (l: URL) => {
      const { jti: _j, iat: _i, exp: _e, ...rest } = jwt.verify(l.searchParams.get('jwt')!, MB_SECRET) as Record<string, unknown>;
      return rest;
    };
    expect(claims(la)).toEqual(claims(lb));
    // The session the cookie names is the user's.
    const token = /eidp_session=([^;]+)/.exec(String(a.headers['set-cookie']))![1];
    expect((await fast.app.get(SessionsService).resolve(token))?.user.id).toBe(user.id);
    // The same audit events, with the client IP as Express computes it and each path's request id.
    const accepted = await audits('handoff.accepted', tenant.id);
    expect(accepted).toHaveLength(2);
    const shape = (e: (typeof accepted)[number]) => ({ ...e, details: { ...e.details, jti: typeof e.details.jti, sessionId: typeof e.details.sessionId } });
    expect(shape(accepted[0])).toEqual(shape(accepted[1]));
    expect(accepted[0]).toMatchObject({ actor: `user:${user.id}`, ip: '203.0.113.9' });
    const issued = await fast.ds.query(`SELECT request_id FROM audit_events WHERE type = 'sso.token_issued' AND tenant_id = $1 ORDER BY id`, [tenant.id]);
    expect(issued.map((r: { request_id: string }) => r.request_id)).toEqual([a.headers['x-request-id'], b.headers['x-request-id']]);
  });

  /** The statements (their text) this process sends to Postgres while `run` runs. */
  async function statementsDuring(run: () => Promise<unknown>): Promise<string[]> {
    const sent: string[] = [];
    const spy = jest.spyOn(Client.prototype, 'query').mockImplementation(function (this: Client, ...args: any[]) {
      const q = args[0];
      sent.push(typeof q === 'string' ? q : (q?.text ?? ''));
      return (realQuery as (...a: unknown[]) => unknown).apply(this, args);
    } as any);
    try {
      await run();
    } finally {
      spy.mockRestore();
    }
    return sent;
  }

  it('reads the issuer once: the trusted issuers and the tenant\'s hand-off state in one statement', async () => {
    const tenant = await handoffTenant();
    await makeUser(fast.ds, tenant.id, { email: 'one-read@fast.example', groups: ['analysts'] });
    const sent = await statementsDuring(async () => {
      const a = await post(fast, { assertion: signAssertion(SECRET, tenant.slug, { email: 'one-read@fast.example' }) });
      expect(a.status).toBe(302);
    });
    const issuerReads = sent.filter((q) => /\b(trusted_issuers|handoff_secrets|handoff_settings)\b/.test(q));
    expect(issuerReads).toHaveLength(1);
    expect(issuerReads[0]).toMatch(/trusted_issuers[\s\S]*handoff_secrets/);
  });

  it('a known user (JIT off) costs five statements: issuer, jti claim + user, target + identity owners, session, token record', async () => {
    const tenant = await handoffTenant();
    await makeUser(fast.ds, tenant.id, { email: 'Five@Fast.example', groups: ['analysts'] });
    const sent = await statementsDuring(async () => {
      const a = await post(fast, { assertion: signAssertion(SECRET, tenant.slug, { email: 'five@fast.example' }) });
      expect(a.status).toBe(302);
    });
    // Background work of either app (the audit stream's poll, the pruner) is not the hand-off's.
    const mine = sent.filter((q) => !/audit_stream|handoff_consumed_assertions WHERE exp/.test(q));
    expect(mine.map((q) => q.replace(/\s+/g, ' ').trim().slice(0, 90))).toHaveLength(5);
    // The identity's owner was read with the target, not on its own.
    expect(mine.filter((q) => /FROM bi_identities/.test(q) && !/INSERT INTO bi_identities/.test(q) && !/targets/.test(q))).toEqual([]);
  });

  it('JIT on: creates the user and answers as the full pipeline does', async () => {
    const tenant = await handoffTenant({ jit: true });
    const answered = await counter(fast, 'answered');
    const a = await post(fast, { assertion: signAssertion(SECRET, tenant.slug, { email: 'new-a@fast.example', groups: ['analysts'] }) });
    const b = await post(full, { assertion: signAssertion(SECRET, tenant.slug, { email: 'new-b@fast.example', groups: ['analysts'] }) });
    expect([a.status, b.status]).toEqual([302, 302]);
    expect((await counter(fast, 'answered')) - answered).toBe(1);
    expect(stable(a.headers)).toEqual(stable(b.headers));
    expect(cookieShape(a.headers)).toEqual(cookieShape(b.headers));
    const groups = (l: string) => (jwt.verify(new URL(l).searchParams.get('jwt')!, MB_SECRET) as { groups: string[] }).groups;
    expect(groups(a.headers.location)).toEqual(['Analysts']);
    expect(groups(b.headers.location)).toEqual(['Analysts']);
    const created = await fast.ds.query(`SELECT email FROM users WHERE tenant_id = $1 ORDER BY email`, [tenant.id]);
    expect(created.map((u: { email: string }) => u.email)).toEqual(['new-a@fast.example', 'new-b@fast.example']);
    expect((await audits('user.created', tenant.id)).map((e) => e.actor)).toEqual([`handoff:${tenant.slug}`, `handoff:${tenant.slug}`]);
  });

  it('a previous session cookie written as a JSON cookie (`j:"…"`, as cookie-parser reads it) is revoked on both paths', async () => {
    const tenant = await handoffTenant();
    await makeUser(fast.ds, tenant.id, { email: 'previous@fast.example', groups: ['analysts'] });
    const sessions = fast.app.get(SessionsService);
    for (const app of [fast, full]) {
      const user = await makeUser(fast.ds, tenant.id, { email: `earlier-${app === fast ? 'f' : 'p'}@fast.example` });
      const earlier = await sessions.create({ id: user.id, tenantId: tenant.id }, { ip: null, userAgent: null });
      const res = await post(app, { assertion: signAssertion(SECRET, tenant.slug, { email: 'previous@fast.example' }) }).set('Cookie', `eidp_session=j:${JSON.stringify(earlier.token)}`);
      expect(res.status).toBe(302);
      expect(await sessions.resolve(earlier.token)).toBeNull();
    }
  });

  it('one assertion posted many times at once: one 302, every other a replay — the full pipeline\'s 401 page, audited each', async () => {
    const tenant = await handoffTenant();
    await makeUser(fast.ds, tenant.id, { email: 'race@fast.example' });
    const assertion = signAssertion(SECRET, tenant.slug, { email: 'race@fast.example' });
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => post(i % 2 ? full : fast, { assertion }).set('Accept', 'text/html')));
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([302, 401, 401, 401, 401, 401, 401, 401]);
    const replays = answers.filter((r) => r.status === 401);
    for (const r of replays) {
      expect(r.text).toContain('This link was already used');
      expect(r.headers['set-cookie']).toBeUndefined();
    }
    expect(await audits('handoff.replay', tenant.id)).toHaveLength(7);
    expect(await audits('handoff.accepted', tenant.id)).toHaveLength(1);
    expect(Number((await fast.ds.query(`SELECT count(*)::int AS n FROM sessions WHERE tenant_id = $1`, [tenant.id]))[0].n)).toBe(1);
  });

  it('concurrent claims of one assertion never share a statement: one success, whatever the batching', async () => {
    // HandoffService batches the jti claims of concurrent hand-offs (one statement for many):
    // a claim in flight makes the next ones queue and go together, so the same jti six
    // times behind another claim would, without the batcher's conflict key, be one INSERT
    // of six rows whose every row "took" the jti.
    const tenant = await handoffTenant();
    await makeUser(fast.ds, tenant.id, { email: 'batch@fast.example' });
    const handoff = fast.app.get(HandoffService);
    const meta = { actor: 'anonymous', ip: null, requestId: null, userAgent: null };
    const same = signAssertion(SECRET, tenant.slug, { email: 'batch@fast.example' });
    const results = await Promise.allSettled([
      handoff.admit({ assertion: signAssertion(SECRET, tenant.slug, { email: 'batch@fast.example' }), meta, previousCookie: undefined }),
      ...Array.from({ length: 6 }, () => handoff.admit({ assertion: same, meta, previousCookie: undefined })),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    expect(results.slice(1).filter((r) => r.status === 'rejected').map((r) => ((r as PromiseRejectedResult).reason as { code?: string }).code)).toEqual(Array(5).fill('replay'));
  });

  it('sessions opened together (one statement) each hold on their own terms: a disabled user gets none, the others theirs', async () => {
    const tenant = await handoffTenant();
    const users = await Promise.all(['s1', 's2', 's3', 's4'].map((n) => makeUser(fast.ds, tenant.id, { email: `${n}@fast.example` })));
    await fast.ds.query(`UPDATE users SET disabled = true WHERE id = $1`, [users[1].id]);
    const sessions = fast.app.get(SessionsService);
    const previous = await sessions.create({ id: users[2].id, tenantId: tenant.id }, { ip: null, userAgent: null });
    const open = (u: { id: string }, previousId: string | null) =>
      sessions.open({ id: u.id, tenantId: tenant.id }, { ip: '198.51.100.1', userAgent: 'ua' }, 'handoff', previousId, {
        type: 'handoff.accepted',
        actor: `user:${u.id}`,
        ip: '198.51.100.1',
        requestId: null,
        details: { userId: u.id },
      });
    // The first goes alone; the three behind it queue and share one statement.
    const [a, b, c, d] = await Promise.all([open(users[0], null), open(users[1], null), open(users[2], SessionsService.idFromCookie(previous.token)), open(users[3], null)]);
    expect(b).toEqual({ refused: 'user_disabled' });
    for (const o of [a, c, d]) expect('token' in o && (await sessions.resolve(o.token))).toBeTruthy();
    expect(await sessions.resolve(previous.token)).toBeNull();
    const accepted = await audits('handoff.accepted', tenant.id);
    expect(accepted.map((e) => e.details.userId).sort()).toEqual([users[0].id, users[2].id, users[3].id].sort());
    expect(Number((await fast.ds.query(`SELECT count(*)::int AS n FROM sessions WHERE user_id = $1`, [users[1].id]))[0].n)).toBe(0);
  });

  describe('refusals: the same answer and audit with and without the fast path', () => {
    type Case = { name: string; status: number; reason: string; event?: string; setup: () => Promise<{ form: () => Record<string, string>; tenantId: string; after?: () => Promise<void> }> };
    const cases: Case[] = [
      {
        name: 'a bad signature (refused before the jti is consumed)',
        status: 401,
        reason: 'bad_signature',
        setup: async () => {
          const tenant = await handoffTenant();
          return { tenantId: tenant.id, form: () => ({ assertion: signAssertion('not-the-secret-0123456789abcdef0123456', tenant.slug, { email: 'x@fast.example' }) }) };
        },
      },
      {
        name: 'a disabled tenant',
        status: 403,
        reason: 'tenant_disabled',
        setup: async () => {
          const tenant = await handoffTenant();
          await makeUser(fast.ds, tenant.id, { email: 'dt@fast.example' });
          await fast.ds.query(`UPDATE tenants SET disabled = true WHERE id = $1`, [tenant.id]);
          return { tenantId: tenant.id, form: () => ({ assertion: signAssertion(SECRET, tenant.slug, { email: 'dt@fast.example' }) }) };
        },
      },
      {
        name: 'a disabled user (refused after the jti is consumed)',
        status: 403,
        reason: 'user_disabled',
        setup: async () => {
          const tenant = await handoffTenant();
          const u = await makeUser(fast.ds, tenant.id, { email: 'du@fast.example' });
          await fast.ds.query(`UPDATE users SET disabled = true WHERE id = $1`, [u.id]);
          return { tenantId: tenant.id, form: () => ({ assertion: signAssertion(SECRET, tenant.slug, { email: 'du@fast.example' }) }) };
        },
      },
      {
        name: 'an unknown user with JIT off',
        status: 403,
        reason: 'unknown_user',
        setup: async () => {
          const tenant = await handoffTenant();
          return { tenantId: tenant.id, form: () => ({ assertion: signAssertion(SECRET, tenant.slug, { email: 'nobody@fast.example' }) }) };
        },
      },
      {
        name: 'a tenant without access to the target (the precheck)',
        status: 403,
        reason: 'no_access',
        event: 'handoff.denied',
        setup: async () => {
          const tenant = await handoffTenant({ access: false });
          await makeUser(fast.ds, tenant.id, { email: 'na@fast.example' });
          return { tenantId: tenant.id, form: () => ({ assertion: signAssertion(SECRET, tenant.slug, { email: 'na@fast.example' }) }) };
        },
      },
      {
        name: 'a return_to off the BI tool (the precheck)',
        status: 400,
        reason: 'invalid_return_to',
        event: 'handoff.denied',
        setup: async () => {
          const tenant = await handoffTenant();
          await makeUser(fast.ds, tenant.id, { email: 'rt@fast.example' });
          return { tenantId: tenant.id, form: () => ({ assertion: signAssertion(SECRET, tenant.slug, { email: 'rt@fast.example' }), return_to: 'https://evil.example.net/' }) };
        },
      },
    ];

    it.each(cases)('$name: $status $reason', async (c) => {
      const { form, tenantId } = await c.setup();
      const event = c.event ?? 'handoff.denied';
      const count = async () => (await audits(event, tenantId)).filter((e) => e.details.reason === c.reason).length;
      const handed = await counter(fast, 'handed_over');
      const before = await count();
      guard.mockClear();
      const a = await post(fast, form()).set('Accept', 'text/html');
      expect(guard).toHaveBeenCalled(); // the full pipeline answered
      expect((await counter(fast, 'handed_over')) - handed).toBe(1);
      const b = await post(full, form()).set('Accept', 'text/html');
      expect([a.status, b.status]).toEqual([c.status, c.status]);
      expect(stable(a.headers)).toEqual(stable(b.headers));
      expect(a.headers['set-cookie']).toBeUndefined();
      const page = (r: request.Response) => r.text.split(r.headers['x-request-id']).join('<request id>');
      expect(page(a)).toEqual(page(b));
      expect((await count()) - before).toBe(2); // once per request, whichever path
      // JSON clients get the same error body too.
      const ja = await post(fast, form()).set('Accept', 'application/json');
      const jb = await post(full, form()).set('Accept', 'application/json');
      const body = (r: request.Response) => ({ ...r.body, requestId: undefined });
      expect([ja.status, body(ja)]).toEqual([jb.status, body(jb)]);
      expect(ja.body.error).toBeDefined();
      expect(Number((await fast.ds.query(`SELECT count(*)::int AS n FROM sessions WHERE tenant_id = $1`, [tenantId]))[0].n)).toBe(0);
    });

    it('a refusal after the session opened (the handshake\'s): the same 409 page with the same new session cookie', async () => {
      // The identity claimed by another tenant between the precheck and the handshake's record.
      const tenant = await handoffTenant();
      await makeUser(fast.ds, tenant.id, { email: 'late409@fast.example' });
      const refuse = jest.spyOn(SsoService.prototype, 'handshake').mockRejectedValue(identityOwnedElsewhere());
      try {
        const handed = await counter(fast, 'handed_over');
        const a = await post(fast, { assertion: signAssertion(SECRET, tenant.slug, { email: 'late409@fast.example' }) }).set('Accept', 'text/html');
        expect((await counter(fast, 'handed_over')) - handed).toBe(1);
        const b = await post(full, { assertion: signAssertion(SECRET, tenant.slug, { email: 'late409@fast.example' }) }).set('Accept', 'text/html');
        expect([a.status, b.status]).toEqual([409, 409]);
        expect(stable(a.headers)).toEqual(stable(b.headers));
        expect(cookieShape(a.headers)).toEqual(cookieShape(b.headers));
        expect(cookieShape(a.headers)).toHaveLength(1);
        expect(a.text.split(a.headers['x-request-id']).join('')).toEqual(b.text.split(b.headers['x-request-id']).join(''));
        expect(await audits('handoff.accepted', tenant.id)).toHaveLength(2);
      } finally {
        refuse.mockRestore();
      }
    });

    it('a user disabled between the lookup and the session: refused, nothing written', async () => {
      // sessions.open refuses when the user is disabled by the time it runs (its own statement).
      const tenant = await handoffTenant();
      const u = await makeUser(fast.ds, tenant.id, { email: 'late@fast.example' });
      const original = SessionsService.prototype.open;
      const open = jest.spyOn(SessionsService.prototype, 'open').mockImplementationOnce(async function (this: SessionsService, ...args) {
        await fast.ds.query(`UPDATE users SET disabled = true WHERE id = $1`, [u.id]);
        return original.apply(this, args);
      });
      try {
        const r = await post(fast, { assertion: signAssertion(SECRET, tenant.slug, { email: 'late@fast.example' }) }).set('Accept', 'application/json');
        expect(r.status).toBe(403);
        expect(r.body.error).toBe('user_disabled');
        expect(open).toHaveBeenCalledTimes(1);
        expect(Number((await fast.ds.query(`SELECT count(*)::int AS n FROM sessions WHERE user_id = $1`, [u.id]))[0].n)).toBe(0);
        expect((await audits('handoff.denied', tenant.id)).map((e) => e.details.reason)).toEqual(['user_disabled']);
      } finally {
        open.mockRestore();
      }
    });
  });

  describe('what the fast path does not take goes to the full pipeline, parsed as always', () => {
    it('an oversized body (over the form limit): refused as too large, audited, as without the fast path', async () => {
      const big = { assertion: 'x'.repeat(30 * 1024) };
      const handed = (await counter(fast, 'handed_over')) + (await counter(fast, 'body'));
      const a = await post(fast, big).set('Accept', 'application/json');
      const b = await post(full, big).set('Accept', 'application/json');
      expect([a.status, a.body.error]).toEqual([400, 'assertion_too_large']);
      expect([b.status, b.body.error]).toEqual([400, 'assertion_too_large']);
      expect((await counter(fast, 'handed_over')) + (await counter(fast, 'body'))).toBe(handed); // never read by the fast path
    });

    it('a body that is not a form (JSON): the full pipeline answers it, as without the fast path', async () => {
      const tenant = await handoffTenant();
      await makeUser(fast.ds, tenant.id, { email: 'json@fast.example' });
      const send = (app: TestApp) =>
        request(app.http).post(`/sso/${target.slug}`).set('Content-Type', 'application/json').set('Accept', 'application/json').send(JSON.stringify({ assertion: signAssertion(SECRET, tenant.slug, { email: 'json@fast.example' }) }));
      guard.mockClear();
      const [a, b] = [await send(fast), await send(full)];
      expect(a.status).toBe(b.status);
      expect(a.body.error).toBe(b.body.error);
      expect(guard).toHaveBeenCalledTimes(2);
    });

    it('a form with another field (response=json) is read, then parsed by the full pipeline: {jwt} and the cookie', async () => {
      const tenant = await handoffTenant();
      await makeUser(fast.ds, tenant.id, { email: 'sdk@fast.example' });
      const read = await counter(fast, 'body');
      guard.mockClear();
      const a = await post(fast, { assertion: signAssertion(SECRET, tenant.slug, { email: 'sdk@fast.example' }), response: 'json' });
      expect((await counter(fast, 'body')) - read).toBe(1);
      expect(guard).toHaveBeenCalled();
      expect(a.status).toBe(200);
      expect((jwt.verify(a.body.jwt, MB_SECRET) as { email: string }).email).toBe('sdk@fast.example');
      expect(String(a.headers['set-cookie'])).toContain('eidp_session=');
    });

    it('odd forms (a repeated field, an undecodable value, an unknown field) get the full pipeline\'s own answer', async () => {
      const tenant = await handoffTenant();
      await makeUser(fast.ds, tenant.id, { email: 'odd@fast.example' });
      const bodies = [
        () => `assertion=${signAssertion(SECRET, tenant.slug, { email: 'odd@fast.example' })}&assertion=x`,
        () => `assertion=${signAssertion(SECRET, tenant.slug, { email: 'odd@fast.example' })}&return_to=%E0%A4%A`,
        () => `assertion=${signAssertion(SECRET, tenant.slug, { email: 'odd@fast.example' })}&extra=1&return_to=/x`,
        () => `return_to=/x`,
      ];
      for (const body of bodies) {
        const send = (app: TestApp) => request(app.http).post(`/sso/${target.slug}`).set('Content-Type', 'application/x-www-form-urlencoded').set('Accept', 'application/json').send(body());
        const [a, b] = [await send(fast), await send(full)];
        expect([a.status, a.body.error, a.headers.location && new URL(a.headers.location).searchParams.get('return_to')]).toEqual([
          b.status,
          b.body.error,
          b.headers.location && new URL(b.headers.location).searchParams.get('return_to'),
        ]);
      }
    });
  });
});
