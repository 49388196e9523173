import request from 'supertest';
import { SessionsService } from '../../src/auth/sessions.service';
import { PasswordsService } from '../../src/users/passwords.service';
import { UsersService } from '../../src/users/users.service';
import { ensureGroup, makeApiKey, makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';

describe('admin API: users', () => {
  let t: TestApp;
  let globalKey: string;
  let tenant: { id: string; slug: string };
  const UNKNOWN = '00000000-0000-4000-8000-000000000000';
  const PASSWORD = 'correct horse battery staple';

  beforeAll(async () => {
    t = await createTestApp();
    globalKey = await makeApiKey(t.ds);
    tenant = await makeTenant(t.ds);
  });
  afterAll(async () => {
    await t.close();
  });

  const api = (key = globalKey) => ({
    get: (path: string) => request(t.http).get(path).set('Authorization', `Bearer ${key}`),
    post: (path: string) => request(t.http).post(path).set('Authorization', `Bearer ${key}`),
    put: (path: string) => request(t.http).put(path).set('Authorization', `Bearer ${key}`),
    patch: (path: string) => request(t.http).patch(path).set('Authorization', `Bearer ${key}`),
    delete: (path: string) => request(t.http).delete(path).set('Authorization', `Bearer ${key}`),
  });
  const users = (tenantId = tenant.id) => `/api/v1/tenants/${tenantId}/users`;
  const count = async (sql: string, params: unknown[] = []) =>
    Number((await t.ds.query(`SELECT count(*)::int AS n FROM ${sql}`, params))[0].n);
  const auditOf = (type: string, tenantId: string) =>
    t.ds.query(`SELECT details FROM audit_events WHERE type = $1 AND tenant_id = $2 ORDER BY id`, [type, tenantId]);
  /** Every write path: nothing that looks like a password or its hash may come back. */
  const expectNoSecrets = (body: unknown) => {
    const json = JSON.stringify(body);
    expect(json).not.toContain(PASSWORD);
    expect(json).not.toContain('$argon2');
    expect(json).not.toMatch(/"password(Hash|_hash)?"\s*:/i);
  };
  const liveSession = async (tenantId: string, userId: string) =>
    t.app.get(SessionsService).create({ id: userId, tenantId }, { ip: null, userAgent: null });

  describe('create', () => {
    it('creates a user with a password and groups; the email is stored lower-cased; the hash is argon2id', async () => {
      await ensureGroup(t.ds, tenant.id, 'analysts');
      await ensureGroup(t.ds, tenant.id, 'admins');
      const res = await api()
        .post(users())
        .send({
          email: '  Ada.Lovelace@Example.COM ',
          firstName: 'Ada',
          lastName: 'Lovelace',
          password: PASSWORD,
          attributes: { customerId: 42, region: 'emea' },
          groups: ['analysts', 'admins', 'analysts'],
        })
        .expect(201);
      expect(res.body).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        tenantId: tenant.id,
        email: 'ada.lovelace@example.com',
        firstName: 'Ada',
        lastName: 'Lovelace',
        attributes: { customerId: 42, region: 'emea' },
        disabled: false,
        role: 'member',
        groups: ['admins', 'analysts'],
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      expectNoSecrets(res.body);

      const [row] = await t.ds.query(`SELECT email, password_hash FROM users WHERE id = $1`, [res.body.id]);
      expect(row.email).toBe('ada.lovelace@example.com');
      expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      await expect(t.app.get(PasswordsService).verify(row.password_hash, PASSWORD)).resolves.toBe(true);

      const [event] = await auditOf('user.created', tenant.id);
      expect(event.details).toEqual({
        userId: res.body.id,
        email: 'ada.lovelace@example.com',
        groups: ['admins', 'analysts'],
        passwordSet: true,
        role: 'member',
      });
      expect(JSON.stringify(event)).not.toContain(PASSWORD);
    });

    it('creates a user without a password (who then has none)', async () => {
      const res = await api().post(users()).send({ email: 'nopass@example.com' }).expect(201);
      expect(res.body).toMatchObject({ firstName: '', lastName: '', attributes: {}, groups: [] });
      const [row] = await t.ds.query(`SELECT password_hash FROM users WHERE id = $1`, [res.body.id]);
      expect(row.password_hash).toBeNull();
    });

    it('refuses a taken email (in any case) with 409 user_email_taken and writes nothing', async () => {
      await makeUser(t.ds, tenant.id, { email: 'taken@example.com' });
      const before = await count('users');
      const audits = await count('audit_events');
      const res = await api().post(users()).send({ email: 'TAKEN@example.com', password: PASSWORD }).expect(409);
      expect(res.body).toMatchObject({ error: 'user_email_taken', message: expect.stringContaining('taken@example.com') });
      expect(await count('users')).toBe(before);
      expect(await count('audit_events')).toBe(audits);
    });

    it('allows the same email in another tenant', async () => {
      const other = await makeTenant(t.ds);
      await makeUser(t.ds, tenant.id, { email: 'shared@example.com' });
      await api().post(users(other.id)).send({ email: 'shared@example.com' }).expect(201);
    });

    it('refuses an unknown group naming it, and writes neither the user nor any membership', async () => {
      await ensureGroup(t.ds, tenant.id, 'known');
      const before = { users: await count('users'), members: await count('group_members'), audits: await count('audit_events') };
      const res = await api()
        .post(users())
        .send({ email: 'grouped@example.com', groups: ['known', 'ghosts'] })
        .expect(400);
      expect(res.body).toMatchObject({ error: 'unknown_groups', message: 'This tenant has no group "ghosts"', details: { groups: ['ghosts'] } });
      expect(await count('users')).toBe(before.users);
      expect(await count('group_members')).toBe(before.members);
      expect(await count('audit_events')).toBe(before.audits);
    });

    it("refuses another tenant's group name as unknown", async () => {
      const other = await makeTenant(t.ds);
      await ensureGroup(t.ds, other.id, 'theirs');
      const res = await api().post(users()).send({ email: 'theirs@example.com', groups: ['theirs'] }).expect(400);
      expect(res.body.error).toBe('unknown_groups');
    });

    it.each([
      [{ email: 'not-an-email' }, 'Email must be an email address'],
      [{ email: '' }, 'Email must be an email address'],
      [{}, 'Email must be an email address'],
      [{ email: `${'a'.repeat(250)}@example.com` }, 'Email must be at most 254 characters'],
      [{ email: 'short@example.com', password: 'too short' }, 'Password must be 12 to 256 characters long'],
      [{ email: 'long@example.com', password: 'x'.repeat(257) }, 'Password must be 12 to 256 characters long'],
      [{ email: 'nullpw@example.com', password: null }, 'Password must be 12 to 256 characters long'],
      [{ email: 'nested@example.com', attributes: { team: { id: 1 } } }, 'Attributes: "team" must be text, a number or true/false (got an object)'],
      [{ email: 'arr@example.com', attributes: { ids: [1] } }, 'Attributes: "ids" must be text, a number or true/false (got an array)'],
      [{ email: 'unknown@example.com', role: 'admin' }, 'Role must be one of member, tenant_admin'],
      [{ email: 'unknown@example.com', operator: true }, '"operator" is not a field this accepts'],
      [{ email: 'name@example.com', firstName: 'x'.repeat(101) }, 'First name must be at most 100 characters'],
      [{ email: 'groups@example.com', groups: 'analysts' }, 'Groups must be a list'],
      [{ email: 'groups2@example.com', groups: [''] }, 'Each group name must be 1 to 100 characters'],
    ])('refuses %j with 400 naming the problem and writes nothing', async (body, message) => {
      const before = await count('users');
      const res = await api().post(users()).send(body).expect(400);
      expect(res.body.error).toBe('validation_failed');
      expect(res.body.message).toContain(message);
      expectNoSecrets(res.body);
      expect(await count('users')).toBe(before);
    });

    it('refuses a malformed JSON body with 400', async () => {
      const before = await count('users');
      const res = await api().post(users()).set('Content-Type', 'application/json').send('{"email": ').expect(400);
      expect(res.body).toMatchObject({ statusCode: 400, message: expect.stringContaining('JSON') });
      expect(await count('users')).toBe(before);
    });

    it('answers 404 tenant_not_found for an unknown or malformed tenant id', async () => {
      const before = await count('users');
      for (const id of [UNKNOWN, 'nope']) {
        const res = await api().post(users(id)).send({ email: 'orphan@example.com' }).expect(404);
        expect(res.body.error).toBe('tenant_not_found');
      }
      expect(await count('users')).toBe(before);
    });
  });

  describe('read', () => {
    let listTenant: { id: string };
    beforeAll(async () => {
      listTenant = await makeTenant(t.ds);
      for (const email of ['carol@corp.example', 'alice@corp.example', 'bob@other.example', 'dave_x@corp.example', 'davexy@corp.example']) {
        await makeUser(t.ds, listTenant.id, { email, password: PASSWORD });
      }
    });

    it('lists users by email with limit/offset and the total', async () => {
      const first = await api().get(`${users(listTenant.id)}?limit=2`).expect(200);
      expect(first.body).toMatchObject({ total: 5, limit: 2, offset: 0 });
      expect(first.body.items.map((u: { email: string }) => u.email)).toEqual(['alice@corp.example', 'bob@other.example']);
      const next = await api().get(`${users(listTenant.id)}?limit=2&offset=2`).expect(200);
      expect(next.body.items.map((u: { email: string }) => u.email)).toEqual(['carol@corp.example', 'dave_x@corp.example']);
      const last = await api().get(`${users(listTenant.id)}?limit=2&offset=4`).expect(200);
      expect(last.body.items).toHaveLength(1);
      expectNoSecrets([first.body, next.body, last.body]);
      expect(Object.keys(first.body.items[0]).sort()).toEqual(
        ['attributes', 'createdAt', 'disabled', 'email', 'firstName', 'id', 'lastName', 'role', 'tenantId', 'updatedAt'],
      );
    });

    it('searches by email substring, case-insensitively, with LIKE wildcards taken literally', async () => {
      const corp = await api().get(`${users(listTenant.id)}?email=CORP.example`).expect(200);
      expect(corp.body.total).toBe(4);
      const underscore = await api().get(`${users(listTenant.id)}?email=dave_`).expect(200);
      expect(underscore.body.items.map((u: { email: string }) => u.email)).toEqual(['dave_x@corp.example']);
      const percent = await api().get(`${users(listTenant.id)}?email=%25`).expect(200);
      expect(percent.body.total).toBe(0);
    });

    it.each(['limit=0', 'limit=500', 'offset=x', 'page=2'])('refuses the query %s with 400', async (qs) => {
      await api().get(`${users(listTenant.id)}?${qs}`).expect(400);
    });

    it('answers 404 for the list of an unknown tenant', async () => {
      const res = await api().get(users(UNKNOWN)).expect(404);
      expect(res.body.error).toBe('tenant_not_found');
    });

    it('gets one user with their groups; unknown and malformed ids are 404 user_not_found', async () => {
      const u = await makeUser(t.ds, tenant.id, { password: PASSWORD, groups: ['readers', 'writers'] });
      const res = await api().get(`${users()}/${u.id}`).expect(200);
      expect(res.body).toMatchObject({ id: u.id, email: u.email, groups: ['readers', 'writers'] });
      expectNoSecrets(res.body);
      for (const id of [UNKNOWN, 'x', `${u.id}0`]) {
        const missing = await api().get(`${users()}/${id}`).expect(404);
        expect(missing.body.error).toBe('user_not_found');
      }
    });
  });

  describe('update', () => {
    it('sets the console role (member by default, tenant_admin) and refuses any other', async () => {
      const created = await api().post(users()).send({ email: `role-${Date.now()}@example.com` }).expect(201);
      expect(created.body.role).toBe('member');
      const res = await api().patch(`${users()}/${created.body.id}`).send({ role: 'tenant_admin' }).expect(200);
      expect(res.body.role).toBe('tenant_admin');
      const bad = await api().patch(`${users()}/${created.body.id}`).send({ role: 'operator' }).expect(400);
      expect(JSON.stringify(bad.body)).toContain('Role must be one of member, tenant_admin');
      expect(await t.ds.query(`SELECT role FROM users WHERE id = $1`, [created.body.id])).toEqual([{ role: 'tenant_admin' }]);
    });

    it('changes names and attributes and records user.updated', async () => {
      const u = await makeUser(t.ds, tenant.id, { attributes: { old: 1 } });
      const res = await api()
        .patch(`${users()}/${u.id}`)
        .send({ firstName: 'Grace', lastName: 'Hopper', attributes: { region: 'us' } })
        .expect(200);
      expect(res.body).toMatchObject({ firstName: 'Grace', lastName: 'Hopper', attributes: { region: 'us' }, email: u.email });
      const events = await auditOf('user.updated', tenant.id);
      expect(events.at(-1).details).toEqual({
        userId: u.id,
        email: u.email,
        changes: { firstName: 'Grace', lastName: 'Hopper', attributes: { region: 'us' } },
      });
    });

    it('refuses an email change, a password here, nested attributes and null values; nothing changes', async () => {
      const u = await makeUser(t.ds, tenant.id, { firstName: 'Keep' });
      for (const [body, message] of [
        [{ email: 'new@example.com' }, '"email" is not a field this accepts'],
        [{ password: PASSWORD }, '"password" is not a field this accepts'],
        [{ firstName: 'New', attributes: { a: { b: 1 } } }, 'Attributes: "a" must be text, a number or true/false'],
        [{ firstName: null }, 'First name must be text'],
        [{ attributes: null }, 'Attributes must be a JSON object'],
        [{ disabled: 1 }, 'Disabled must be true or false'],
      ] as const) {
        const res = await api().patch(`${users()}/${u.id}`).send(body).expect(400);
        expect(res.body.message).toContain(message);
      }
      const [row] = await t.ds.query(`SELECT first_name, email, attributes, disabled FROM users WHERE id = $1`, [u.id]);
      expect(row).toEqual({ first_name: 'Keep', email: u.email, attributes: {}, disabled: false });
    });

    it('disabling a user ends their live sessions at once (and only theirs)', async () => {
      const u = await makeUser(t.ds, tenant.id);
      const bystander = await makeUser(t.ds, tenant.id);
      const sessions = t.app.get(SessionsService);
      const s1 = await liveSession(tenant.id, u.id);
      const s2 = await liveSession(tenant.id, u.id);
      const other = await liveSession(tenant.id, bystander.id);
      expect(await sessions.resolve(s1.token)).not.toBeNull();

      const res = await api().patch(`${users()}/${u.id}`).send({ disabled: true }).expect(200);
      expect(res.body.disabled).toBe(true);
      expect(await sessions.resolve(s1.token)).toBeNull();
      expect(await sessions.resolve(s2.token)).toBeNull();
      expect(await sessions.resolve(other.token)).not.toBeNull();
      expect(await count(`sessions WHERE user_id = $1 AND revoked_at IS NULL`, [u.id])).toBe(0);
      const events = await auditOf('user.updated', tenant.id);
      expect(events.at(-1).details).toMatchObject({ userId: u.id, changes: { disabled: true }, sessionsEnded: 2 });

      // Re-enabling does not revive them.
      await api().patch(`${users()}/${u.id}`).send({ disabled: false }).expect(200);
      expect(await sessions.resolve(s1.token)).toBeNull();
    });
  });

  describe('password', () => {
    it.each(['put', 'post'] as const)('%s sets the password, ends sessions, records user.password_set without it', async (method) => {
      const u = await makeUser(t.ds, tenant.id);
      const s = await liveSession(tenant.id, u.id);
      const res = await api()[method](`${users()}/${u.id}/password`).send({ password: PASSWORD }).expect(204);
      expect(res.text).toBe('');
      const [row] = await t.ds.query(`SELECT password_hash FROM users WHERE id = $1`, [u.id]);
      await expect(t.app.get(PasswordsService).verify(row.password_hash, PASSWORD)).resolves.toBe(true);
      expect(await t.app.get(SessionsService).resolve(s.token)).toBeNull();
      const events = await auditOf('user.password_set', tenant.id);
      expect(events.at(-1).details).toEqual({ userId: u.id, sessionsEnded: 1 });
      expect(JSON.stringify(events)).not.toContain(PASSWORD);
    });

    it('refuses a short, long, missing or non-string password, and an unknown user', async () => {
      const u = await makeUser(t.ds, tenant.id, { password: PASSWORD });
      const [before] = await t.ds.query(`SELECT password_hash FROM users WHERE id = $1`, [u.id]);
      for (const body of [{ password: 'short' }, { password: 'y'.repeat(257) }, {}, { password: 123456789012345 }]) {
        const res = await api().put(`${users()}/${u.id}/password`).send(body).expect(400);
        expect(res.body.message).toContain('Password must be 12 to 256 characters long');
      }
      const [after] = await t.ds.query(`SELECT password_hash FROM users WHERE id = $1`, [u.id]);
      expect(after.password_hash).toBe(before.password_hash);
      const res = await api().put(`${users()}/${UNKNOWN}/password`).send({ password: PASSWORD }).expect(404);
      expect(res.body.error).toBe('user_not_found');
    });
  });

  describe('delete', () => {
    it('deletes the user with memberships and sessions, records user.deleted, then 404s', async () => {
      const u = await makeUser(t.ds, tenant.id, { groups: ['to-leave'] });
      await liveSession(tenant.id, u.id);
      await api().delete(`${users()}/${u.id}`).expect(204);
      expect(await count(`users WHERE id = $1`, [u.id])).toBe(0);
      expect(await count(`group_members WHERE user_id = $1`, [u.id])).toBe(0);
      expect(await count(`sessions WHERE user_id = $1`, [u.id])).toBe(0);
      const events = await auditOf('user.deleted', tenant.id);
      expect(events.at(-1).details).toEqual({ userId: u.id, email: u.email });
      await api().delete(`${users()}/${u.id}`).expect(404);
    });
  });

  describe('UsersService lookups used by the login and SSO flows', () => {
    it('findByEmail returns the user with the hash (email matched lower-cased), only within the tenant', async () => {
      const svc = t.app.get(UsersService);
      const u = await makeUser(t.ds, tenant.id, { email: 'login@example.com', password: PASSWORD, groups: ['zeta', 'alpha'] });
      const found = await svc.findByEmail(tenant.id, '  LOGIN@Example.com ');
      expect(found).toMatchObject({ id: u.id, tenantId: tenant.id, email: 'login@example.com' });
      expect(found!.passwordHash).toMatch(/^\$argon2id\$/);
      const other = await makeTenant(t.ds);
      await expect(svc.findByEmail(other.id, 'login@example.com')).resolves.toBeNull();
      await expect(svc.findByEmail('not-a-uuid', 'login@example.com')).resolves.toBeNull();
      await expect(svc.findByEmail(tenant.id, 'nobody@example.com')).resolves.toBeNull();

      const byId = await svc.findById(tenant.id, u.id);
      expect(byId.passwordHash).toBeUndefined();
      await expect(svc.findById(other.id, u.id)).rejects.toMatchObject({ code: 'user_not_found', status: 404 });
      await expect(svc.findById(tenant.id, 'junk')).rejects.toMatchObject({ code: 'user_not_found' });
      await expect(svc.groupNamesOf(tenant.id, u.id)).resolves.toEqual(['alpha', 'zeta']);
      await expect(svc.groupNamesOf(other.id, u.id)).resolves.toEqual([]);
    });
  });

  describe('tenant isolation', () => {
    let a: { id: string };
    let b: { id: string };
    let keyA: string;
    let userB: { id: string; email: string };
    beforeAll(async () => {
      a = await makeTenant(t.ds);
      b = await makeTenant(t.ds);
      keyA = await makeApiKey(t.ds, a.id);
      userB = await makeUser(t.ds, b.id, { firstName: 'Bee' });
    });

    it("a scoped key works on its own tenant's users", async () => {
      const res = await api(keyA).post(users(a.id)).send({ email: 'mine@example.com' }).expect(201);
      await api(keyA).get(`${users(a.id)}/${res.body.id}`).expect(200);
      const list = await api(keyA).get(users(a.id)).expect(200);
      expect(list.body.total).toBe(1);
    });

    it("a scoped key gets 404 tenant_not_found for everything of another tenant, and changes nothing", async () => {
      const before = { users: await count('users'), audits: await count('audit_events') };
      for (const call of [
        api(keyA).get(users(b.id)),
        api(keyA).post(users(b.id)).send({ email: 'intruder@example.com' }),
        api(keyA).get(`${users(b.id)}/${userB.id}`),
        api(keyA).patch(`${users(b.id)}/${userB.id}`).send({ firstName: 'Pwned', disabled: true }),
        api(keyA).put(`${users(b.id)}/${userB.id}/password`).send({ password: PASSWORD }),
        api(keyA).delete(`${users(b.id)}/${userB.id}`),
      ]) {
        const res = await call.expect(404);
        expect(res.body).toMatchObject({ error: 'tenant_not_found', message: 'tenant not found' });
        expect(JSON.stringify(res.body)).not.toContain(userB.email);
      }
      const [row] = await t.ds.query(`SELECT first_name, disabled, password_hash FROM users WHERE id = $1`, [userB.id]);
      expect(row).toEqual({ first_name: 'Bee', disabled: false, password_hash: null });
      expect(await count('users')).toBe(before.users);
      expect(await count('audit_events')).toBe(before.audits);
    });

    it("another tenant's user under one's own tenant path is 404 user_not_found (global key too)", async () => {
      for (const key of [keyA, globalKey]) {
        const res = await api(key).get(`${users(a.id)}/${userB.id}`).expect(404);
        expect(res.body.error).toBe('user_not_found');
        await api(key).patch(`${users(a.id)}/${userB.id}`).send({ firstName: 'Pwned' }).expect(404);
        await api(key).delete(`${users(a.id)}/${userB.id}`).expect(404);
      }
      expect(await count(`users WHERE id = $1 AND first_name = 'Bee'`, [userB.id])).toBe(1);
    });
  });
});
