import request from 'supertest';
import { ensureGroup, grantAccess, makeApiKey, makeTarget, makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';

describe('admin API: groups and memberships', () => {
  let t: TestApp;
  let globalKey: string;
  let tenant: { id: string };
  const UNKNOWN = '00000000-0000-4000-8000-000000000000';

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
  const base = (tenantId = tenant.id) => `/api/v1/tenants/${tenantId}`;
  const count = async (sql: string, params: unknown[] = []) =>
    Number((await t.ds.query(`SELECT count(*)::int AS n FROM ${sql}`, params))[0].n);
  const auditOf = (type: string, tenantId: string) =>
    t.ds.query(`SELECT details FROM audit_events WHERE type = $1 AND tenant_id = $2 ORDER BY id`, [type, tenantId]);

  describe('groups', () => {
    it('creates a group (name trimmed) and records group.created', async () => {
      const res = await api().post(`${base()}/groups`).send({ name: '  Analysts ' }).expect(201);
      expect(res.body).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        tenantId: tenant.id,
        name: 'Analysts',
        createdAt: expect.any(String),
      });
      const events = await auditOf('group.created', tenant.id);
      expect(events.at(-1).details).toEqual({ groupId: res.body.id, name: 'Analysts' });
    });

    it('refuses a duplicate name with 409 group_name_taken and writes nothing', async () => {
      await ensureGroup(t.ds, tenant.id, 'dupe');
      const before = await count('groups');
      const res = await api().post(`${base()}/groups`).send({ name: 'dupe' }).expect(409);
      expect(res.body).toMatchObject({ error: 'group_name_taken', message: expect.stringContaining('"dupe"') });
      expect(await count('groups')).toBe(before);
    });

    it('allows the same name in another tenant', async () => {
      const other = await makeTenant(t.ds);
      await ensureGroup(t.ds, tenant.id, 'shared-name');
      await api().post(`${base(other.id)}/groups`).send({ name: 'shared-name' }).expect(201);
    });

    it.each([
      [{ name: '' }, 'Group name must be 1 to 100 characters'],
      [{ name: '   ' }, 'Group name must be 1 to 100 characters'],
      [{ name: 'x'.repeat(101) }, 'Group name must be 1 to 100 characters'],
      [{ name: 'bad\nname' }, 'control characters'],
      [{ name: 7 }, 'Name must be text'],
      [{}, 'Name must be text'],
      [{ name: 'ok', colour: 'red' }, '"colour" is not a field this accepts'],
    ])('refuses %j with 400 naming the problem', async (body, message) => {
      const before = await count('groups');
      const res = await api().post(`${base()}/groups`).send(body).expect(400);
      expect(res.body.message).toContain(message);
      expect(await count('groups')).toBe(before);
    });

    it('answers 404 tenant_not_found for an unknown or malformed tenant', async () => {
      for (const id of [UNKNOWN, 'zzz']) {
        const res = await api().post(`${base(id)}/groups`).send({ name: 'x' }).expect(404);
        expect(res.body.error).toBe('tenant_not_found');
        await api().get(`${base(id)}/groups`).expect(404);
      }
    });

    it('lists groups by name with limit/offset and the total', async () => {
      const own = await makeTenant(t.ds);
      for (const name of ['c', 'a', 'b']) await ensureGroup(t.ds, own.id, name);
      const first = await api().get(`${base(own.id)}/groups?limit=2`).expect(200);
      expect(first.body).toMatchObject({ total: 3, limit: 2, offset: 0 });
      expect(first.body.items.map((g: { name: string }) => g.name)).toEqual(['a', 'b']);
      const rest = await api().get(`${base(own.id)}/groups?limit=2&offset=2`).expect(200);
      expect(rest.body.items.map((g: { name: string }) => g.name)).toEqual(['c']);
      await api().get(`${base(own.id)}/groups?limit=-1`).expect(400);
    });

    it('gets one group; unknown and malformed ids are 404 group_not_found', async () => {
      const g = await ensureGroup(t.ds, tenant.id, 'getme');
      const res = await api().get(`${base()}/groups/${g.id}`).expect(200);
      expect(res.body).toMatchObject({ id: g.id, name: 'getme' });
      for (const id of [UNKNOWN, 'nope']) {
        const missing = await api().get(`${base()}/groups/${id}`).expect(404);
        expect(missing.body.error).toBe('group_not_found');
      }
    });

    it("renames a group, re-keys the tenant's group mappings and records group.renamed", async () => {
      const g = await ensureGroup(t.ds, tenant.id, 'old-name');
      const target = await makeTarget(t, { kind: 'metabase', baseUrl: 'https://metabase.example.com', secret: 'x'.repeat(64) });
      await grantAccess(t.ds, tenant.id, target.id, { groupMappings: { 'old-name': ['Metabase Analysts'], untouched: ['Other'] } });

      const res = await api().patch(`${base()}/groups/${g.id}`).send({ name: 'new-name' }).expect(200);
      expect(res.body).toMatchObject({ id: g.id, name: 'new-name' });
      const [access] = await t.ds.query(`SELECT group_mappings FROM tenant_target_access WHERE tenant_id = $1`, [tenant.id]);
      expect(access.group_mappings).toEqual({ 'new-name': ['Metabase Analysts'], untouched: ['Other'] });
      const events = await auditOf('group.renamed', tenant.id);
      expect(events.at(-1).details).toEqual({ groupId: g.id, from: 'old-name', to: 'new-name' });
    });

    it('refuses renaming onto a taken name (409) and leaves both groups as they were', async () => {
      const a = await ensureGroup(t.ds, tenant.id, 'rename-a');
      await ensureGroup(t.ds, tenant.id, 'rename-b');
      const res = await api().patch(`${base()}/groups/${a.id}`).send({ name: 'rename-b' }).expect(409);
      expect(res.body.error).toBe('group_name_taken');
      expect(await count(`groups WHERE id = $1 AND name = 'rename-a'`, [a.id])).toBe(1);
      await api().patch(`${base()}/groups/${UNKNOWN}`).send({ name: 'whatever' }).expect(404);
    });

    it('deletes a group with its memberships and records group.deleted', async () => {
      const u = await makeUser(t.ds, tenant.id, { groups: ['doomed'] });
      const [g] = await t.ds.query(`SELECT id FROM groups WHERE tenant_id = $1 AND name = 'doomed'`, [tenant.id]);
      await api().delete(`${base()}/groups/${g.id}`).expect(204);
      expect(await count(`groups WHERE id = $1`, [g.id])).toBe(0);
      expect(await count(`group_members WHERE group_id = $1`, [g.id])).toBe(0);
      expect(await count(`users WHERE id = $1`, [u.id])).toBe(1);
      const events = await auditOf('group.deleted', tenant.id);
      expect(events.at(-1).details).toEqual({ groupId: g.id, name: 'doomed' });
      await api().delete(`${base()}/groups/${g.id}`).expect(404);
    });
  });

  describe('memberships', () => {
    let group: { id: string; name: string };
    let user: { id: string; email: string };
    beforeAll(async () => {
      group = await ensureGroup(t.ds, tenant.id, 'members-test');
      user = await makeUser(t.ds, tenant.id, { password: 'a long enough password' });
    });

    it('adds a member idempotently, recording one group.member_added', async () => {
      const path = `${base()}/groups/${group.id}/members/${user.id}`;
      await api().put(path).expect(204);
      await api().put(path).expect(204);
      expect(await count(`group_members WHERE group_id = $1 AND user_id = $2 AND tenant_id = $3`, [group.id, user.id, tenant.id])).toBe(1);
      const events = (await auditOf('group.member_added', tenant.id)).filter(
        (e: { details: { groupId: string } }) => e.details.groupId === group.id,
      );
      expect(events.map((e: { details: unknown }) => e.details)).toEqual([
        { groupId: group.id, group: 'members-test', userId: user.id, email: user.email },
      ]);
    });

    it("lists the group's members and the user's groups", async () => {
      const members = await api().get(`${base()}/groups/${group.id}/members`).expect(200);
      expect(members.body).toMatchObject({ total: 1, limit: 50, offset: 0 });
      expect(members.body.items.map((u: { id: string }) => u.id)).toEqual([user.id]);
      expect(JSON.stringify(members.body)).not.toMatch(/argon2|password/i);
      const groups = await api().get(`${base()}/users/${user.id}/groups`).expect(200);
      expect(groups.body.items.map((g: { name: string }) => g.name)).toEqual(['members-test']);
    });

    it('removes a member (recording group.member_removed); removing again is 404 membership_not_found', async () => {
      const path = `${base()}/groups/${group.id}/members/${user.id}`;
      await api().delete(path).expect(204);
      expect(await count(`group_members WHERE group_id = $1`, [group.id])).toBe(0);
      const events = await auditOf('group.member_removed', tenant.id);
      expect(events.at(-1).details).toEqual({ groupId: group.id, group: 'members-test', userId: user.id, email: user.email });
      const again = await api().delete(path).expect(404);
      expect(again.body.error).toBe('membership_not_found');
      const groups = await api().get(`${base()}/users/${user.id}/groups`).expect(200);
      expect(groups.body.items).toEqual([]);
    });

    it('answers 404 naming what is missing: group, user, or a user/group of another tenant', async () => {
      const other = await makeTenant(t.ds);
      const foreignUser = await makeUser(t.ds, other.id);
      const foreignGroup = await ensureGroup(t.ds, other.id, 'foreign');
      const before = await count('group_members');
      const cases: [string, string][] = [
        [`${base()}/groups/${UNKNOWN}/members/${user.id}`, 'group_not_found'],
        [`${base()}/groups/${group.id}/members/${UNKNOWN}`, 'user_not_found'],
        [`${base()}/groups/${group.id}/members/not-a-uuid`, 'user_not_found'],
        [`${base()}/groups/${group.id}/members/${foreignUser.id}`, 'user_not_found'],
        [`${base()}/groups/${foreignGroup.id}/members/${user.id}`, 'group_not_found'],
      ];
      for (const [path, error] of cases) {
        const res = await api().put(path).expect(404);
        expect(res.body.error).toBe(error);
      }
      expect(await count('group_members')).toBe(before);
      expect((await api().get(`${base()}/groups/${UNKNOWN}/members`).expect(404)).body.error).toBe('group_not_found');
      expect((await api().get(`${base()}/users/${UNKNOWN}/groups`).expect(404)).body.error).toBe('user_not_found');
      expect((await api().get(`${base()}/users/${foreignUser.id}/groups`).expect(404)).body.error).toBe('user_not_found');
    });
  });

  describe('tenant isolation', () => {
    let a: { id: string };
    let b: { id: string };
    let keyA: string;
    let groupB: { id: string; name: string };
    let userB: { id: string };
    beforeAll(async () => {
      a = await makeTenant(t.ds);
      b = await makeTenant(t.ds);
      keyA = await makeApiKey(t.ds, a.id);
      groupB = await ensureGroup(t.ds, b.id, 'b-group');
      userB = await makeUser(t.ds, b.id);
    });

    it("a scoped key manages its own tenant's groups", async () => {
      const res = await api(keyA).post(`${base(a.id)}/groups`).send({ name: 'a-group' }).expect(201);
      const list = await api(keyA).get(`${base(a.id)}/groups`).expect(200);
      expect(list.body.items.map((g: { id: string }) => g.id)).toEqual([res.body.id]);
    });

    it('a scoped key gets 404 tenant_not_found for every group route of another tenant, and changes nothing', async () => {
      const before = { groups: await count('groups'), members: await count('group_members'), audits: await count('audit_events') };
      for (const call of [
        api(keyA).get(`${base(b.id)}/groups`),
        api(keyA).post(`${base(b.id)}/groups`).send({ name: 'intruder' }),
        api(keyA).get(`${base(b.id)}/groups/${groupB.id}`),
        api(keyA).patch(`${base(b.id)}/groups/${groupB.id}`).send({ name: 'pwned' }),
        api(keyA).delete(`${base(b.id)}/groups/${groupB.id}`),
        api(keyA).get(`${base(b.id)}/groups/${groupB.id}/members`),
        api(keyA).put(`${base(b.id)}/groups/${groupB.id}/members/${userB.id}`),
        api(keyA).delete(`${base(b.id)}/groups/${groupB.id}/members/${userB.id}`),
        api(keyA).get(`${base(b.id)}/users/${userB.id}/groups`),
      ]) {
        const res = await call.expect(404);
        expect(res.body).toMatchObject({ error: 'tenant_not_found', message: 'tenant not found' });
        expect(JSON.stringify(res.body)).not.toContain('b-group');
      }
      expect(await count(`groups WHERE id = $1 AND name = 'b-group'`, [groupB.id])).toBe(1);
      expect(await count('groups')).toBe(before.groups);
      expect(await count('group_members')).toBe(before.members);
      expect(await count('audit_events')).toBe(before.audits);
    });

    it("another tenant's group under one's own tenant path is 404 group_not_found", async () => {
      const res = await api(keyA).get(`${base(a.id)}/groups/${groupB.id}`).expect(404);
      expect(res.body.error).toBe('group_not_found');
      await api(keyA).patch(`${base(a.id)}/groups/${groupB.id}`).send({ name: 'pwned' }).expect(404);
      await api(keyA).delete(`${base(a.id)}/groups/${groupB.id}`).expect(404);
      expect(await count(`groups WHERE id = $1 AND name = 'b-group'`, [groupB.id])).toBe(1);
    });
  });
});
