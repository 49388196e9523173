import request from 'supertest';
import { makeApiKey, makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { CookieJar, signIn } from '../support/cookie-jar';
import { SessionsService } from '../../src/auth/sessions.service';

const PASSWORD = 'correct horse battery staple';
const IDLE = 600;
const ABSOLUTE = 7200;

describe('browser sessions', () => {
  let t: TestApp;
  let adminKey: string;
  beforeAll(async () => {
    // Eight parallel logins come from one test IP: above LOGIN_IP_CONCURRENCY's default of 4 they
    // would get 429 whenever hashing is slow (a loaded machine). Sessions, not throttling, are tested here.
    t = await createTestApp({ env: { SESSION_IDLE_TIMEOUT: String(IDLE), SESSION_ABSOLUTE_TIMEOUT: String(ABSOLUTE), LOGIN_IP_CONCURRENCY: '16' } });
    adminKey = await makeApiKey(t.ds);
  });
  afterAll(async () => {
    await t?.close();
  });

  async function signedIn(p: { tenant?: { id: string; slug: string } } = {}) {
    const tenant = p.tenant ?? (await makeTenant(t.ds));
    const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
    const jar = new CookieJar();
    const res = await signIn(request(t.http), jar, { tenant: tenant.slug, email: user.email, password: PASSWORD });
    expect(res.status).toBe(303);
    return { tenant, user, jar };
  }

  // A request's touch of last_seen_at is written after its answer: wait for it, so the next
  // step's own UPDATE of last_seen_at is not overwritten by it.
  const isSignedIn = async (jar: CookieJar) => {
    const status = (await jar.on(request(t.http).get('/account'))).status;
    await t.app.get(SessionsService).touchesSettled();
    return status === 200;
  };
  const sessionIdOf = async (userId: string) => (await t.ds.query(`SELECT id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL`, [userId]))[0]?.id;

  it('uses the configured absolute timeout for the row and the cookie', async () => {
    const { user, jar } = await signedIn();
    expect(jar.cookie('eidp_session')!.attributes['max-age']).toBe(String(ABSOLUTE));
    const [row] = await t.ds.query(`SELECT extract(epoch FROM expires_at - created_at)::int AS life FROM sessions WHERE user_id = $1`, [user.id]);
    expect(row.life).toBe(ABSOLUTE);
  });

  it('ends a session idle for longer than SESSION_IDLE_TIMEOUT', async () => {
    const { user, jar } = await signedIn();
    await t.ds.query(`UPDATE sessions SET last_seen_at = now() - make_interval(secs => $2) WHERE user_id = $1`, [user.id, IDLE - 30]);
    expect(await isSignedIn(jar)).toBe(true);
    await t.ds.query(`UPDATE sessions SET last_seen_at = now() - make_interval(secs => $2) WHERE user_id = $1`, [user.id, IDLE + 1]);
    expect(await isSignedIn(jar)).toBe(false);
  });

  it('keeps an active session alive by touching it', async () => {
    const { user, jar } = await signedIn();
    await t.ds.query(`UPDATE sessions SET last_seen_at = now() - make_interval(secs => $2) WHERE user_id = $1`, [user.id, IDLE - 30]);
    expect(await isSignedIn(jar)).toBe(true);
    const [row] = await t.ds.query(`SELECT extract(epoch FROM now() - last_seen_at)::int AS idle FROM sessions WHERE user_id = $1`, [user.id]);
    expect(row.idle).toBeLessThan(5);
  });

  it('answers without waiting for the touch, and touches concurrent sessions together', async () => {
    const tenant = await makeTenant(t.ds);
    const people = await Promise.all([0, 1, 2, 3, 4].map(() => signedIn({ tenant })));
    const ids = people.map((p) => p.user.id);
    await t.ds.query(`UPDATE sessions SET last_seen_at = now() - make_interval(secs => $2) WHERE user_id = ANY($1::uuid[])`, [ids, IDLE - 30]);
    // Another transaction holds the first session's row: its touch must wait, the answer not.
    const runner = t.ds.createQueryRunner();
    await runner.connect();
    await runner.startTransaction();
    try {
      await runner.query(`SELECT id FROM sessions WHERE user_id = $1 FOR UPDATE`, [ids[0]]);
      const started = Date.now();
      const statuses = await Promise.all(people.map(async (p) => (await p.jar.on(request(t.http).get('/account'))).status));
      expect(statuses).toEqual([200, 200, 200, 200, 200]);
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      await new Promise((r) => setTimeout(r, 200));
      await runner.commitTransaction();
      await runner.release();
    }
    await t.app.get(SessionsService).touchesSettled();
    const rows = await t.ds.query(`SELECT extract(epoch FROM now() - last_seen_at)::int AS idle FROM sessions WHERE user_id = ANY($1::uuid[])`, [ids]);
    expect(rows).toHaveLength(5);
    for (const r of rows) expect(r.idle).toBeLessThan(5);
  });

  it('ends a session at its absolute expiry, however active', async () => {
    const { user, jar } = await signedIn();
    await t.ds.query(`UPDATE sessions SET expires_at = now() - interval '1 second' WHERE user_id = $1`, [user.id]);
    expect(await isSignedIn(jar)).toBe(false);
  });

  it('ends the sessions of a disabled user, and of every user of a disabled tenant, at once', async () => {
    const a = await signedIn();
    const b = await signedIn();
    const c = await signedIn({ tenant: b.tenant });
    await request(t.http)
      .patch(`/api/v1/tenants/${a.tenant.id}/users/${a.user.id}`)
      .set('Authorization', `Bearer ${adminKey}`)
      .send({ disabled: true })
      .expect(200);
    expect(await isSignedIn(a.jar)).toBe(false);

    expect(await isSignedIn(b.jar)).toBe(true);
    await request(t.http).patch(`/api/v1/tenants/${b.tenant.id}`).set('Authorization', `Bearer ${adminKey}`).send({ disabled: true }).expect(200);
    expect(await isSignedIn(b.jar)).toBe(false);
    expect(await isSignedIn(c.jar)).toBe(false);
  });

  it('refuses sessions as soon as the flag is set, even before any revocation runs', async () => {
    const a = await signedIn();
    await t.ds.query(`UPDATE users SET disabled = true WHERE id = $1`, [a.user.id]);
    expect(await isSignedIn(a.jar)).toBe(false);
    const b = await signedIn();
    await t.ds.query(`UPDATE tenants SET disabled = true WHERE id = $1`, [b.tenant.id]);
    expect(await isSignedIn(b.jar)).toBe(false);
  });

  it('opens no session, and writes no event, for a user or tenant disabled by the time the sign-in commits', async () => {
    // A sign-in reads the user first and opens the session later (a hand-off provisions and
    // syncs groups in between): a disable committed meanwhile must still win.
    const sessions = t.app.get(SessionsService);
    const enabled = await makeTenant(t.ds);
    const cases = [
      { tenant: enabled, user: await makeUser(t.ds, enabled.id, { disabled: true }), reason: 'user_disabled' },
      ...(await (async () => {
        const off = await makeTenant(t.ds, { disabled: true });
        return [{ tenant: off, user: await makeUser(t.ds, off.id), reason: 'tenant_disabled' }];
      })()),
    ];
    for (const c of cases) {
      const previous = await makeUser(t.ds, enabled.id);
      const kept = await sessions.create({ id: previous.id, tenantId: enabled.id }, { ip: null, userAgent: null });
      const opened = await sessions.open({ id: c.user.id, tenantId: c.tenant.id }, { ip: null, userAgent: null }, 'test', kept.id, {
        type: 'handoff.accepted', actor: `user:${c.user.id}`, ip: null, requestId: null, details: { userId: c.user.id },
      });
      expect(opened).toEqual({ refused: c.reason });
      const rows = await t.ds.query(`SELECT count(*)::int AS n FROM sessions WHERE user_id = $1`, [c.user.id]);
      expect(rows[0].n).toBe(0);
      const events = await t.ds.query(`SELECT count(*)::int AS n FROM audit_events WHERE actor = $1`, [`user:${c.user.id}`]);
      expect(events[0].n).toBe(0);
      // Nor is the browser's previous session ended by a sign-in that did not happen.
      const prev = await t.ds.query(`SELECT revoked_at FROM sessions WHERE id = $1`, [kept.id]);
      expect(prev[0].revoked_at).toBeNull();
    }
  });

  it('gives parallel logins of different users each their own session', async () => {
    const base = await t.listen();
    const tenant = await makeTenant(t.ds);
    const users = await Promise.all(Array.from({ length: 8 }, () => makeUser(t.ds, tenant.id, { password: PASSWORD })));
    const jars = users.map(() => new CookieJar());
    const results = await Promise.all(users.map((u, i) => signIn(request(base), jars[i], { tenant: tenant.slug, email: u.email, password: PASSWORD })));
    expect(results.map((r) => r.status)).toEqual(users.map(() => 303));
    for (const [i, u] of users.entries()) {
      const page = await jars[i].on(request(base).get('/account')).expect(200);
      expect(page.text).toContain(u.email);
    }
  });

  describe('admin API', () => {
    const auth = (key: string) => ({ Authorization: `Bearer ${key}` });

    it('lists, revokes one and revokes all, each revocation audited', async () => {
      const tenant = await makeTenant(t.ds);
      const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
      const jars = [new CookieJar(), new CookieJar(), new CookieJar()];
      for (const jar of jars) {
        await signIn(request(t.http), jar, { tenant: tenant.slug, email: user.email, password: PASSWORD });
      }
      const url = `/api/v1/tenants/${tenant.id}/users/${user.id}/sessions`;
      const list = await request(t.http).get(url).set(auth(adminKey)).expect(200);
      expect(list.body.items).toHaveLength(3);
      expect(Object.keys(list.body.items[0]).sort()).toEqual(['createdAt', 'expiresAt', 'id', 'ip', 'lastSeenAt', 'userAgent']);
      // The ids are hashes: no cookie value appears in the listing.
      for (const jar of jars) expect(JSON.stringify(list.body)).not.toContain(jar.get('eidp_session')!);

      const first = list.body.items[0].id as string;
      await request(t.http).delete(`${url}/${first}`).set(auth(adminKey)).expect(204);
      await request(t.http).delete(`${url}/${first}`).set(auth(adminKey)).expect(404);
      const signedInCount = (await Promise.all(jars.map(isSignedIn))).filter(Boolean).length;
      expect(signedInCount).toBe(2);

      const all = await request(t.http).delete(url).set(auth(adminKey)).expect(200);
      expect(all.body).toEqual({ revoked: 2 });
      expect((await Promise.all(jars.map(isSignedIn))).some(Boolean)).toBe(false);
      expect((await request(t.http).get(url).set(auth(adminKey)).expect(200)).body.items).toEqual([]);

      const events = await t.ds.query(`SELECT details FROM audit_events WHERE type = 'session.revoked' AND tenant_id = $1 ORDER BY id`, [tenant.id]);
      expect(events.map((e: { details: unknown }) => e.details)).toEqual([
        { userId: user.id, sessionId: first, count: 1 },
        { userId: user.id, all: true, count: 2 },
      ]);
    });

    it('keeps tenant-scoped keys to their tenant and answers 404 for unknown or malformed ids', async () => {
      const { tenant, user } = await signedIn();
      const other = await makeTenant(t.ds);
      const otherKey = await makeApiKey(t.ds, other.id);
      const ownKey = await makeApiKey(t.ds, tenant.id);
      const url = `/api/v1/tenants/${tenant.id}/users/${user.id}/sessions`;
      await request(t.http).get(url).set(auth(ownKey)).expect(200);
      await request(t.http).get(url).set(auth(otherKey)).expect(404);
      await request(t.http).delete(url).set(auth(otherKey)).expect(404);
      expect(await sessionIdOf(user.id)).toBeDefined();
      // The user exists, but not in this tenant.
      await request(t.http).get(`/api/v1/tenants/${other.id}/users/${user.id}/sessions`).set(auth(adminKey)).expect(404);
      await request(t.http).get(`/api/v1/tenants/${tenant.id}/users/not-a-uuid/sessions`).set(auth(adminKey)).expect(404);
      await request(t.http).delete(`${url}/not-a-session-id`).set(auth(adminKey)).expect(404);
      await request(t.http).delete(`${url}/${'0'.repeat(64)}`).set(auth(adminKey)).expect(404);
    });

    it('needs an API key', async () => {
      const { tenant, user } = await signedIn();
      const url = `/api/v1/tenants/${tenant.id}/users/${user.id}/sessions`;
      await request(t.http).get(url).expect(401);
      await request(t.http).delete(url).set('Authorization', 'Bearer eidp_not-a-real-key-at-all-0000').expect(401);
      expect(await sessionIdOf(user.id)).toBeDefined();
    });
  });

  it('survives a restart of the service', async () => {
    const { jar } = await signedIn();
    const db = t.db;
    await t.close({ keepDatabase: true });
    t = undefined as unknown as TestApp;
    t = await createTestApp({ database: db, env: { SESSION_IDLE_TIMEOUT: String(IDLE), SESSION_ABSOLUTE_TIMEOUT: String(ABSOLUTE) } });
    expect(await isSignedIn(jar)).toBe(true);
  });
});

describe('session cookie over https', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { PUBLIC_URL: 'https://idp.example.test' } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('is Secure and SameSite=None, so the flow works inside BI iframes; so is the CSRF cookie (both __Host- prefixed)', async () => {
    const tenant = await makeTenant(t.ds);
    const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
    const jar = new CookieJar();
    const res = await signIn(request(t.http), jar, { tenant: tenant.slug, email: user.email, password: PASSWORD });
    expect(res.status).toBe(303);
    for (const name of ['__Host-eidp_session', '__Host-eidp_csrf']) {
      const c = jar.cookie(name)!;
      expect(c.attributes.secure).toBe(true);
      expect(c.attributes.samesite).toBe('None');
      expect(c.attributes.httponly).toBe(true);
    }
  });
});
