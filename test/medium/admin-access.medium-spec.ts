import request from 'supertest';
import { ensureGroup, grantAccess, makeApiKey, makeTarget, makeTenant } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { findAccess } from '../support/access';

const UNKNOWN = '00000000-0000-4000-8000-000000000000';

describe('admin API: tenant access to targets', () => {
  let t: TestApp;
  let globalKey: string;
  let metabase: { id: string; slug: string };
  let sisense: { id: string; slug: string };
  let databricks: { id: string; slug: string };

  beforeAll(async () => {
    t = await createTestApp();
    globalKey = await makeApiKey(t.ds, null);
    metabase = await makeTarget(t, { kind: 'metabase', baseUrl: 'https://metabase.example.com', secret: 'metabase-secret-0123456789abcdef' });
    sisense = await makeTarget(t, { kind: 'sisense', baseUrl: 'https://sisense.example.com', secret: 'sisense-secret-0123456789abcdef' });
    databricks = await makeTarget(t, { kind: 'databricks', baseUrl: 'https://adb-1.azuredatabricks.net', secret: 'dbx-secret-0123456789abcdef' });
  });
  afterAll(async () => {
    await t.close();
  });

  const put = (key: string, tenantId: string, targetId: string, body: object) =>
    request(t.http).put(`/api/v1/tenants/${tenantId}/access/${targetId}`).set('Authorization', `Bearer ${key}`).send(body);
  const list = (key: string, tenantId: string) => request(t.http).get(`/api/v1/tenants/${tenantId}/access`).set('Authorization', `Bearer ${key}`);
  const del = (key: string, tenantId: string, targetId: string) =>
    request(t.http).delete(`/api/v1/tenants/${tenantId}/access/${targetId}`).set('Authorization', `Bearer ${key}`);

  const metabaseGrant = {
    groupMappings: { analysts: ['Analysts', 'Analysts', 'Viewers'], admins: ['Administrators'] },
    attributes: { region: 'emea', seats: 25, beta: true },
    settings: { metabaseTenantSlug: 'acme_co-1', lockedParams: { customer_id: 'customerId' }, sharedAccount: { email: 'Shared@Acme.example', firstName: 'Acme' } },
  };

  it('grants (201), replaces whole (200) and lists, with audit events in the tenant', async () => {
    const tenant = await makeTenant(t.ds);
    // Mappings name local groups the tenant has (an unknown one is refused: bi-identities e2e).
    for (const g of ['analysts', 'admins', 'everyone']) await ensureGroup(t.ds, tenant.id, g);
    const created = await put(globalKey, tenant.id, metabase.id, metabaseGrant).expect(201);
    expect(created.body).toMatchObject({
      tenantId: tenant.id,
      targetId: metabase.id,
      targetSlug: metabase.slug,
      targetKind: 'metabase',
      groupMappings: { analysts: ['Analysts', 'Viewers'], admins: ['Administrators'] },
      attributes: { region: 'emea', seats: 25, beta: true },
      settings: { metabaseTenantSlug: 'acme_co-1', lockedParams: { customer_id: 'customerId' }, sharedAccount: { email: 'shared@acme.example', firstName: 'Acme' } },
    });

    const replaced = await put(globalKey, tenant.id, metabase.id, { groupMappings: { everyone: ['All Users'] } }).expect(200);
    expect(replaced.body).toMatchObject({ id: created.body.id, groupMappings: { everyone: ['All Users'] }, attributes: {}, settings: {} });

    await put(globalKey, tenant.id, sisense.id, { settings: { sisenseTenantName: 'acme', sisenseTenantId: '64f0c0ffee0123456789abcd' } }).expect(201);
    const res = await list(globalKey, tenant.id).expect(200);
    expect(res.body.items.map((a: { targetId: string }) => a.targetId).sort()).toEqual([metabase.id, sisense.id].sort());

    const events = await t.ds.query(
      `SELECT type, tenant_id, details FROM audit_events WHERE tenant_id = $1 AND type LIKE 'access.%' ORDER BY id`,
      [tenant.id],
    );
    expect(events.map((e: { type: string; details: { replaced: boolean } }) => [e.type, e.details.replaced])).toEqual([
      ['access.granted', false],
      ['access.granted', true],
      ['access.granted', false],
    ]);
  });

  it('stores the grant under its tenant: a lookup scoped by tenant finds it for that tenant only', async () => {
    const a = await makeTenant(t.ds);
    const b = await makeTenant(t.ds);
    await put(globalKey, a.id, databricks.id, { settings: { externalValueAttribute: 'customerId' } }).expect(201);
    await expect(findAccess(t.ds, a.id, databricks.id)).resolves.toMatchObject({ tenantId: a.id, settings: { externalValueAttribute: 'customerId' } });
    await expect(findAccess(t.ds, b.id, databricks.id)).resolves.toBeNull();
  });

  it('lets a tenant key read its own grants only, and change none', async () => {
    const mine = await makeTenant(t.ds);
    const other = await makeTenant(t.ds);
    const myKey = await makeApiKey(t.ds, mine.id);
    await grantAccess(t.ds, mine.id, metabase.id);
    await grantAccess(t.ds, other.id, metabase.id);
    const res = await list(myKey, mine.id).expect(200);
    expect(res.body.items).toHaveLength(1);
    expect((await list(myKey, other.id).expect(404)).body.error).toBe('tenant_not_found');
    expect((await put(myKey, mine.id, sisense.id, {}).expect(403)).body.error).toBe('global_key_required');
    await del(myKey, mine.id, metabase.id).expect(403);
    // Another tenant's grants: 404, exactly as for a tenant that does not exist.
    expect((await put(myKey, other.id, sisense.id, {}).expect(404)).body.error).toBe('tenant_not_found');
    expect((await del(myKey, other.id, metabase.id).expect(404)).body.error).toBe('tenant_not_found');
    expect(await t.ds.query(`SELECT 1 FROM tenant_target_access WHERE tenant_id = $1`, [other.id])).toHaveLength(1);
    await request(t.http).get(`/api/v1/tenants/${mine.id}/access`).expect(401);
    expect(await t.ds.query(`SELECT 1 FROM tenant_target_access WHERE tenant_id = $1`, [mine.id])).toHaveLength(1);
  });

  it('answers 404 for an unknown tenant or target', async () => {
    const tenant = await makeTenant(t.ds);
    expect((await put(globalKey, UNKNOWN, metabase.id, {}).expect(404)).body.error).toBe('tenant_not_found');
    expect((await put(globalKey, tenant.id, UNKNOWN, {}).expect(404)).body.error).toBe('target_not_found');
    expect((await put(globalKey, tenant.id, 'nope', {}).expect(404)).body.error).toBe('target_not_found');
    await list(globalKey, UNKNOWN).expect(404);
    await list(globalKey, 'not-a-uuid').expect(404);
    await del(globalKey, UNKNOWN, metabase.id).expect(404);
    expect((await del(globalKey, tenant.id, metabase.id).expect(404)).body.error).toBe('access_grant_not_found');
  });

  it.each([
    [{ settings: { metabaseTenantSlug: 'Acme Co' } }, /settings\.metabaseTenantSlug must be a Metabase tenant slug: 1 to 255 lower-case letters/],
    [{ settings: { colour: 'blue' } }, /settings\.colour is not a known setting/],
    [{ settings: { sisenseTenantName: 'acme', sisenseTenantId: 'abc' } }, /settings\.sisenseTenantName does not apply to metabase targets/],
    [{ settings: { externalValueAttribute: 'x' } }, /does not apply to metabase/],
    [{ settings: { sharedAccount: { email: 'not-an-email' } } }, /settings\.sharedAccount\.email must be an email address/],
    [{ settings: { sharedAccount: { email: 'a@b.example', role: 'admin' } } }, /settings\.sharedAccount\.role is not a known field/],
    [{ settings: { lockedParams: { customer_id: 7 } } }, /settings\.lockedParams\.customer_id must be an attribute name/],
    [{ settings: 'x' }, /Settings must be an object/],
    [{ attributes: { nested: { a: 1 } } }, /attributes\.nested must be text, a number or true\/false/],
    [{ attributes: { exp: 1 } }, /reserved/],
    [{ attributes: { '@tenant': 'x' } }, /attributes key "@tenant"/],
    [{ groupMappings: { analysts: 'Analysts' } }, /groupMappings\.analysts must be a list/],
    [{ groupMappings: { analysts: [''] } }, /groupMappings\.analysts must be a list/],
    [{ groupMappings: [] }, /Group mappings must be an object/],
    [{ extra: 1 }, /"extra" is not a field this accepts/],
  ])('refuses %j with 400 naming the problem, changing nothing', async (body, message) => {
    const tenant = await makeTenant(t.ds);
    await put(globalKey, tenant.id, metabase.id, { attributes: { kept: 'yes' } }).expect(201);
    const res = await put(globalKey, tenant.id, metabase.id, body).expect(400);
    expect(res.body.message).toMatch(message);
    const [row] = await t.ds.query(`SELECT attributes FROM tenant_target_access WHERE tenant_id = $1`, [tenant.id]);
    expect(row.attributes).toEqual({ kept: 'yes' });
  });

  it('requires the Sisense tenant name and id together', async () => {
    const tenant = await makeTenant(t.ds);
    const res = await put(globalKey, tenant.id, sisense.id, { settings: { sisenseTenantName: 'acme' } }).expect(400);
    expect(res.body.message).toMatch(/sisenseTenantName and settings\.sisenseTenantId go together/);
    await put(globalKey, tenant.id, sisense.id, { settings: { sharedAccount: { email: 'bi@acme.example' } } }).expect(201);
  });

  it('revokes a grant (204), audited, then 404', async () => {
    const tenant = await makeTenant(t.ds);
    await grantAccess(t.ds, tenant.id, sisense.id);
    await del(globalKey, tenant.id, sisense.id).expect(204);
    expect(await t.ds.query(`SELECT 1 FROM tenant_target_access WHERE tenant_id = $1`, [tenant.id])).toEqual([]);
    const [event] = await t.ds.query(`SELECT details FROM audit_events WHERE tenant_id = $1 AND type = 'access.revoked'`, [tenant.id]);
    expect(event.details).toEqual({ targetId: sisense.id });
    await del(globalKey, tenant.id, sisense.id).expect(404);
  });
});
