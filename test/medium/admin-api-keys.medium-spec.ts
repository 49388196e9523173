import request from 'supertest';
import { makeApiKey, makeTenant } from '../factories';
import { createTestApp, TestApp } from '../setup/app';

describe('admin API: API keys', () => {
  let t: TestApp;
  let globalKey: string;

  beforeAll(async () => {
    t = await createTestApp();
    globalKey = await makeApiKey(t.ds, null, 'root');
  });
  afterAll(async () => {
    await t.close();
  });

  const create = (key: string, body: object) => request(t.http).post('/api/v1/api-keys').set('Authorization', `Bearer ${key}`).send(body);
  const list = (key: string, query = '') => request(t.http).get(`/api/v1/api-keys${query}`).set('Authorization', `Bearer ${key}`);
  const revoke = (key: string, id: string) => request(t.http).delete(`/api/v1/api-keys/${id}`).set('Authorization', `Bearer ${key}`);

  it('creates a global key whose plaintext appears in that response only, and which works', async () => {
    const res = await create(globalKey, { name: '  CI provisioning ' }).expect(201);
    expect(Object.keys(res.body).sort()).toEqual(['createdAt', 'id', 'key', 'name', 'prefix', 'tenantId']);
    expect(res.body).toMatchObject({ name: 'CI provisioning', tenantId: null });
    expect(res.body.key).toMatch(/^eidp_[A-Za-z0-9_-]{43}$/);
    expect(res.body.key.startsWith(res.body.prefix)).toBe(true);

    const listed = await list(res.body.key).expect(200);
    const mine = listed.body.items.find((k: { id: string }) => k.id === res.body.id);
    expect(Object.keys(mine).sort()).toEqual(['createdAt', 'id', 'lastUsedAt', 'name', 'prefix', 'revokedAt', 'tenantId']);
    expect(mine.lastUsedAt).not.toBeNull();
    expect(listed.text).not.toContain(res.body.key);
    expect(listed.text).not.toMatch(/key_?hash/i);

    const [row] = await t.ds.query(`SELECT key_hash FROM api_keys WHERE id = $1`, [res.body.id]);
    expect(row.key_hash).not.toContain(res.body.key);
    const [event] = await t.ds.query(`SELECT details FROM audit_events WHERE type = 'api_key.created' AND details->>'apiKeyId' = $1`, [res.body.id]);
    expect(event.details).toEqual({ apiKeyId: res.body.id, name: 'CI provisioning' });
  });

  it('lets a global key create tenant keys, and a tenant key create keys only for its own tenant', async () => {
    const tenant = await makeTenant(t.ds);
    const other = await makeTenant(t.ds);
    const scoped = (await create(globalKey, { name: 'tenant admin', tenantId: tenant.id }).expect(201)).body;
    expect(scoped.tenantId).toBe(tenant.id);

    const child = await create(scoped.key, { name: 'child', tenantId: tenant.id }).expect(201);
    expect(child.body.tenantId).toBe(tenant.id);
    expect((await create(scoped.key, { name: 'x', tenantId: other.id }).expect(404)).body.error).toBe('tenant_not_found');
    expect((await create(scoped.key, { name: 'x' }).expect(403)).body.error).toBe('global_key_required');
    expect((await create(scoped.key, { name: 'x', tenantId: null }).expect(403)).body.error).toBe('global_key_required');

    const seen = await list(scoped.key).expect(200);
    expect(seen.body.items.map((k: { tenantId: string }) => k.tenantId)).toEqual([tenant.id, tenant.id]);
    const all = await list(globalKey).expect(200);
    expect(all.body.items.map((k: { id: string }) => k.id)).toEqual(expect.arrayContaining([scoped.id, child.body.id]));
  });

  it('validates the body', async () => {
    expect((await create(globalKey, { name: '' }).expect(400)).body.message).toMatch(/Name must be 1 to 100/);
    expect((await create(globalKey, { name: 'x'.repeat(101) }).expect(400)).body.message).toMatch(/Name must be 1 to 100/);
    expect((await create(globalKey, {}).expect(400)).body.message).toMatch(/Name/);
    expect((await create(globalKey, { name: 'x', tenantId: 'Not a slug' }).expect(400)).body.message).toMatch(/Tenant must be a tenant id \(UUID\) or slug/);
    expect((await create(globalKey, { name: 'x', scope: 'all' }).expect(400)).body.message).toMatch(/"scope" is not a field this accepts/);
    expect((await create(globalKey, { name: 'bootstrap (BOOTSTRAP_ADMIN_KEY)' }).expect(400)).body.error).toBe('reserved_name');
    const unknownTenant = await create(globalKey, { name: 'x', tenantId: '00000000-0000-4000-8000-000000000000' }).expect(404);
    expect(unknownTenant.body.error).toBe('tenant_not_found');
  });

  it('revokes a key: refused at once, hidden from lists unless asked for, audited', async () => {
    const created = (await create(globalKey, { name: 'short-lived' }).expect(201)).body;
    await list(created.key).expect(200);
    await revoke(globalKey, created.id).expect(204);
    const refused = await list(created.key).expect(401);
    expect(refused.body.error).toBe('unauthorized');
    expect((await list(globalKey).expect(200)).body.items.map((k: { id: string }) => k.id)).not.toContain(created.id);
    const withRevoked = await list(globalKey, '?includeRevoked=true').expect(200);
    expect(withRevoked.body.items.find((k: { id: string }) => k.id === created.id).revokedAt).not.toBeNull();
    await list(globalKey, '?includeRevoked=maybe').expect(400);
    await revoke(globalKey, created.id).expect(404);
    const events = await t.ds.query(`SELECT 1 FROM audit_events WHERE type = 'api_key.revoked' AND details->>'apiKeyId' = $1`, [created.id]);
    expect(events).toHaveLength(1);
  });

  it('lets a tenant key revoke only its own tenant\'s keys', async () => {
    const a = await makeTenant(t.ds);
    const b = await makeTenant(t.ds);
    const aKey = (await create(globalKey, { name: 'a', tenantId: a.id }).expect(201)).body;
    const bKey = (await create(globalKey, { name: 'b', tenantId: b.id }).expect(201)).body;
    const globalOther = (await create(globalKey, { name: 'global' }).expect(201)).body;
    expect((await revoke(aKey.key, bKey.id).expect(404)).body.error).toBe('api_key_not_found');
    await revoke(aKey.key, globalOther.id).expect(404);
    await list(bKey.key).expect(200);
    await revoke(aKey.key, 'not-a-uuid').expect(404);
    await revoke(aKey.key, aKey.id).expect(204);
    await list(aKey.key).expect(401);
  });

  it('refuses missing, malformed and unknown keys alike', async () => {
    for (const header of [undefined, 'Basic abc', 'Bearer short', 'Bearer eidp_this-key-does-not-exist-anywhere']) {
      const req = request(t.http).get('/api/v1/api-keys');
      const res = await (header ? req.set('Authorization', header) : req).expect(401);
      expect(res.body).toMatchObject({ error: 'unauthorized', message: 'A valid API key is required (Authorization: Bearer <key>)' });
    }
  });
});
