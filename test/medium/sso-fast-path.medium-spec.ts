import { decodeJwt, jwtVerify } from 'jose';
import { Logger } from '@nestjs/common';
import request from 'supertest';
import { AuthGuard } from '../../src/auth/auth.guard';
import { SessionsService } from '../../src/auth/sessions.service';
import { SsoService } from '../../src/issuance/sso.service';
import { MetricsService } from '../../src/metrics/metrics.service';
import { grantAccess, makeTarget, makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';

/**
 * The SSO fast path (src/issuance/sso-fast-path.ts) answers a successful browser handshake in
 * front of Express and Nest. It must answer exactly what the full pipeline answers (status,
 * every header, the token's claims), and leave every refusal to the full pipeline, which
 * audits it once. Two apps on one database: the fast path on (default) and off.
 */
const SECRET = 'mb-jwt-secret-for-fast-path-0123456789abcdef';
const MB = 'https://mb-fast.example.com';

describe('SSO fast path: same answers as the full pipeline', () => {
  let fast: TestApp;
  let full: TestApp;
  let tenant: { id: string; slug: string };
  let user: { id: string; email: string; tenantId: string };
  let target: { id: string; slug: string };
  let guard: jest.SpyInstance;

  beforeAll(async () => {
    fast = await createTestApp({ env: { TRUST_PROXY: '1' } });
    full = await createTestApp({ env: { TRUST_PROXY: '1', SSO_FAST_PATH: 'off' }, database: fast.db });
    tenant = await makeTenant(fast.ds);
    user = { ...(await makeUser(fast.ds, tenant.id, { email: 'ada@example.com', groups: ['analysts'], attributes: { region: 'emea' } })), tenantId: tenant.id };
    target = await makeTarget(fast, { kind: 'metabase', slug: 'mb-fast', baseUrl: MB, secret: SECRET });
    await grantAccess(fast.ds, tenant.id, target.id, { groupMappings: { analysts: ['Analysts'] } });
    guard = jest.spyOn(AuthGuard.prototype, 'canActivate');
  });
  afterAll(async () => {
    guard.mockRestore();
    await full.close({ keepDatabase: true });
    await fast.close();
  });
  beforeEach(() => guard.mockClear());

  const cookieFor = async (who: { id: string; tenantId: string }) => `eidp_session=${(await fast.app.get(SessionsService).create(who, { ip: null, userAgent: null })).token}`;
  const audits = async (type: string, reason?: string) =>
    Number(
      (await fast.ds.query(`SELECT count(*)::int AS n FROM audit_events WHERE type = $1 AND ($2::text IS NULL OR details->>'reason' = $2)`, [type, reason ?? null]))[0].n,
    );
  const VARYING = new Set(['date', 'x-request-id', 'location', 'content-length', 'connection', 'keep-alive']);
  const stable = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).filter(([k]) => !VARYING.has(k)));

  it('answers a live session with the same 302, headers and claims as the full pipeline, without the Nest pipeline', async () => {
    const cookie = await cookieFor(user);
    const a = await request(fast.app.getHttpServer()).get('/sso/mb-fast?return_to=/dashboard/1').set('Cookie', cookie).set('X-Forwarded-For', '203.0.113.7');
    expect(a.status).toBe(302);
    expect(guard).not.toHaveBeenCalled(); // answered in front of Nest
    const b = await request(full.app.getHttpServer()).get('/sso/mb-fast?return_to=/dashboard/1').set('Cookie', cookie).set('X-Forwarded-For', '203.0.113.7');
    expect(b.status).toBe(302);
    expect(guard).toHaveBeenCalled();

    expect(stable(a.headers)).toEqual(stable(b.headers));
    expect(a.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.headers['content-security-policy']).toBeDefined();
    const [ua, ub] = [new URL(a.headers.location), new URL(b.headers.location)];
    expect(ua.origin + ua.pathname).toBe(ub.origin + ub.pathname);
    expect(ua.searchParams.get('return_to')).toBe(ub.searchParams.get('return_to'));
    const key = new TextEncoder().encode(SECRET);
    const ca = (await jwtVerify(ua.searchParams.get('jwt')!, key)).payload;
    const cb = (await jwtVerify(ub.searchParams.get('jwt')!, key)).payload;
    const { jti: ja, iat: ia, exp: ea, ...restA } = ca;
    const { jti: jb, iat: ib, exp: eb, ...restB } = cb;
    expect(restA).toEqual(restB);
    expect(ja).not.toBe(jb);
    expect(Number(ea) - Number(ia)).toBe(Number(eb) - Number(ib));
    // Recorded and audited once each, with the client IP as Express computes it (TRUST_PROXY=1).
    const rows = await fast.ds.query(`SELECT ip, request_id FROM audit_events WHERE type = 'sso.token_issued' AND details->>'jti' = ANY ($1)`, [[ja, jb]]);
    expect(rows).toHaveLength(2);
    expect(rows.map((r: { ip: string }) => r.ip)).toEqual(['203.0.113.7', '203.0.113.7']);
    expect(rows.map((r: { request_id: string }) => r.request_id).sort()).toEqual([a.headers['x-request-id'], b.headers['x-request-id']].sort());
    expect(Number((await fast.ds.query(`SELECT count(*)::int AS n FROM issued_tokens WHERE jti = ANY ($1)`, [[ja, jb]]))[0].n)).toBe(2);
    expect(decodeJwt(ua.searchParams.get('jwt')!).email).toBe('ada@example.com');
  });

  it('keeps an incoming sane X-Request-Id, as the full pipeline does', async () => {
    const res = await request(fast.app.getHttpServer()).get('/sso/mb-fast').set('Cookie', await cookieFor(user)).set('X-Request-Id', 'req-fast-1');
    expect(res.status).toBe(302);
    expect(res.headers['x-request-id']).toBe('req-fast-1');
  });

  it.each([
    ['an invalid return_to', '/sso/mb-fast?return_to=https://evil.example.net/', 400, 'invalid_return_to'],
    ['an unknown target', '/sso/no-such-target', 404, 'unknown_target'],
  ])('leaves %s to the full pipeline: the same refusal, audited once', async (_what, path, status, reason) => {
    const before = await audits('sso.denied', reason);
    const res = await request(fast.app.getHttpServer()).get(path).set('Cookie', await cookieFor(user)).set('Accept', 'application/json');
    expect(res.status).toBe(status);
    expect(guard).toHaveBeenCalled();
    expect((await audits('sso.denied', reason)) - before).toBe(1);
  });

  it('leaves a tenant without access to the full pipeline: 403, audited once, nothing recorded', async () => {
    const other = await makeTenant(fast.ds);
    const stranger = { ...(await makeUser(fast.ds, other.id, { email: 'bob@example.org' })), tenantId: other.id };
    const before = await audits('sso.denied', 'no_access');
    const tokens = Number((await fast.ds.query(`SELECT count(*)::int AS n FROM issued_tokens WHERE user_id = $1`, [stranger.id]))[0].n);
    const res = await request(fast.app.getHttpServer()).get('/sso/mb-fast').set('Cookie', await cookieFor(stranger)).set('Accept', 'application/json');
    expect(res.status).toBe(403);
    expect(res.body.error).toBe('no_access');
    expect((await audits('sso.denied', 'no_access')) - before).toBe(1);
    expect(Number((await fast.ds.query(`SELECT count(*)::int AS n FROM issued_tokens WHERE user_id = $1`, [stranger.id]))[0].n)).toBe(tokens);
  });

  it('leaves a visitor without a session, a revoked session and a JSON request to the full pipeline', async () => {
    const none = await request(fast.app.getHttpServer()).get('/sso/mb-fast');
    expect(none.status).toBe(302);
    expect(none.headers.location).toMatch(/\/login\?next=/);
    const cookie = await cookieFor(user);
    await fast.ds.query(`UPDATE sessions SET revoked_at = now() WHERE user_id = $1`, [user.id]);
    const revoked = await request(fast.app.getHttpServer()).get('/sso/mb-fast').set('Cookie', cookie);
    expect(revoked.status).toBe(302);
    expect(revoked.headers.location).toMatch(/\/login\?next=/);
    guard.mockClear();
    const json = await request(fast.app.getHttpServer()).get('/sso/mb-fast?response=json').set('Cookie', await cookieFor(user));
    expect(guard).toHaveBeenCalled();
    expect(json.status).toBe(200);
    expect(typeof json.body.jwt).toBe('string');
  });

  it('a disabled user is refused at once (the session lookup is the same statement)', async () => {
    const cookie = await cookieFor(user);
    expect((await request(fast.app.getHttpServer()).get('/sso/mb-fast').set('Cookie', cookie)).status).toBe(302);
    await fast.ds.query(`UPDATE users SET disabled = true WHERE id = $1`, [user.id]);
    try {
      const res = await request(fast.app.getHttpServer()).get('/sso/mb-fast').set('Cookie', cookie).set('Accept', 'application/json');
      expect(res.status).toBe(403);
      expect(res.body.error).toBe('account_disabled');
    } finally {
      await fast.ds.query(`UPDATE users SET disabled = false WHERE id = $1`, [user.id]);
    }
  });

  it('counts every hand-over to the full pipeline, and logs the errors: a fast path failing every time is seen', async () => {
    const metrics = fast.app.get(MetricsService);
    const fallbacks = async (reason: string) =>
      (await metrics.registry.getSingleMetric('embed_idp_sso_fast_path_fallbacks_total')!.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const handshake = jest.spyOn(fast.app.get(SsoService), 'handshake');
    try {
      const [errors, refusals] = [await fallbacks('error'), await fallbacks('refusal')];
      handshake.mockRejectedValueOnce(new Error('statement timeout'));
      guard.mockClear();
      const res = await request(fast.app.getHttpServer()).get('/sso/mb-fast?return_to=/dashboard/1').set('Cookie', await cookieFor(user));
      expect(res.status).toBe(302); // the full pipeline answered it
      expect(guard).toHaveBeenCalled();
      expect((await fallbacks('error')) - errors).toBe(1);
      expect(warn.mock.calls.map((c) => String(c[0])).join('\n')).toMatch(/fast path handed 1 handshake\(s\) to the full pipeline after an error, the last: statement timeout/);

      const other = await makeTenant(fast.ds);
      const stranger = { ...(await makeUser(fast.ds, other.id, { email: 'eve@example.org' })), tenantId: other.id };
      expect((await request(fast.app.getHttpServer()).get('/sso/mb-fast').set('Cookie', await cookieFor(stranger))).status).toBe(403);
      expect((await fallbacks('refusal')) - refusals).toBe(1);
    } finally {
      handshake.mockRestore();
      warn.mockRestore();
    }
  });
});
