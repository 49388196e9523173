import request from 'supertest';
import { ensureGroup, grantAccess, makeApiKey, makeTarget, makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { CookieJar, csrfFieldOf, signIn } from '../support/cookie-jar';

const OP_EMAIL = 'root@platform.example';
const OP_PASSWORD = 'operator password 0001';
const PASSWORD = 'tenant user password 01';

/**
 * Deleting a tenant or a target from the console: a CSRF-checked POST, operators only, a
 * confirmation page naming what goes, done only with the slug typed back, by the admin API's
 * services (same cascade, same audit event).
 */
describe('console: deleting a tenant or a target', () => {
  let t: TestApp;
  let op: CookieJar;
  let opUserId: string;

  beforeAll(async () => {
    t = await createTestApp({ env: { BOOTSTRAP_OPERATOR_EMAIL: OP_EMAIL, BOOTSTRAP_OPERATOR_PASSWORD: OP_PASSWORD } });
    op = new CookieJar();
    expect((await signIn(request(t.http), op, { tenant: 'operators', email: OP_EMAIL, password: OP_PASSWORD })).status).toBe(303);
    [{ id: opUserId }] = await t.ds.query(`SELECT id FROM users WHERE email = $1`, [OP_EMAIL]);
  });
  afterAll(async () => {
    await t.close();
  });

  const tokenOf = async (jar: CookieJar, path: string) => csrfFieldOf((await jar.on(request(t.http).get(path))).text);
  const postAs = async (jar: CookieJar, path: string, body: Record<string, unknown>, from = '/console/tenants') =>
    jar.on(request(t.http).post(path)).type('form').send({ _csrf: await tokenOf(jar, from), ...body });
  const post = (path: string, body: Record<string, unknown>) => postAs(op, path, body);
  const follow = async (location: string) => (await op.on(request(t.http).get(location))).text;
  const exists = async (table: string, id: string) => (await t.ds.query(`SELECT 1 FROM ${table} WHERE id = $1`, [id])).length === 1;

  async function populatedTenant() {
    const tenant = await makeTenant(t.ds, { name: 'Doomed Corp' });
    const user = await makeUser(t.ds, tenant.id, { password: PASSWORD });
    await ensureGroup(t.ds, tenant.id, 'Analysts');
    const target = await makeTarget(t, { kind: 'metabase', baseUrl: 'https://mb.example.com', secret: 'a'.repeat(64) });
    await grantAccess(t.ds, tenant.id, target.id);
    await makeApiKey(t.ds, tenant.id, 'doomed key');
    const jar = new CookieJar();
    expect((await signIn(request(t.http), jar, { tenant: tenant.slug, email: user.email, password: PASSWORD })).status).toBe(303);
    return { tenant, user, target, jar };
  }

  it('a tenant: asks first naming what goes, wants the slug, then removes it all and audits tenant.deleted', async () => {
    const { tenant, user, target, jar } = await populatedTenant();
    const path = `/console/tenants/${tenant.id}`;
    const page = await follow(path);
    expect(page).toContain(`action="${path}/delete"`);

    // Without the CSRF field: refused, nothing gone.
    const forged = await op.on(request(t.http).post(`${path}/delete`)).type('form').send({ confirm: 'yes', confirmSlug: tenant.slug });
    expect(forged.status).toBe(400);
    expect(await exists('tenants', tenant.id)).toBe(true);

    // The button: a confirmation page naming what goes, nothing deleted.
    const ask = await post(`${path}/delete`, {});
    expect(ask.status).toBe(200);
    expect(ask.text).toContain('Delete Doomed Corp?');
    expect(ask.text).toContain('1 user,');
    expect(ask.text).toContain('1 group');
    expect(ask.text).toContain(`1 access grant (${target.slug})`);
    expect(ask.text).toContain(`Type <code>${tenant.slug}</code> to confirm`);
    expect(await exists('tenants', tenant.id)).toBe(true);

    // confirm=yes alone (a replayed button) or a wrong slug: the page again, with the reason; nothing gone.
    for (const body of [{ confirm: 'yes' }, { confirm: 'yes', confirmSlug: 'acme' }, { confirmSlug: tenant.slug }]) {
      const refused = await post(`${path}/delete`, body);
      expect(refused.status).toBe(body.confirm ? 400 : 200);
      if (body.confirm) expect(refused.text).toContain(`Type the slug ${tenant.slug} exactly`);
      expect(await exists('tenants', tenant.id)).toBe(true);
    }

    const done = await post(`${path}/delete`, { confirm: 'yes', confirmSlug: tenant.slug });
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe('/console/tenants?done=tenant-deleted');
    const list = await follow(done.headers.location);
    expect(list).toContain('Tenant deleted');
    expect(list).not.toContain('Doomed Corp');

    expect(await exists('tenants', tenant.id)).toBe(false);
    expect(await exists('users', user.id)).toBe(false);
    for (const table of ['groups', 'sessions', 'api_keys', 'tenant_target_access']) {
      expect([table, await t.ds.query(`SELECT 1 FROM ${table} WHERE tenant_id = $1`, [tenant.id])]).toEqual([table, []]);
    }
    // The target itself stays; the deleted tenant's user is signed out.
    expect(await exists('targets', target.id)).toBe(true);
    expect((await jar.on(request(t.http).get('/account'))).status).not.toBe(200);
    const audit = await t.ds.query(`SELECT actor, details FROM audit_events WHERE type = 'tenant.deleted' AND tenant_id = $1`, [tenant.id]);
    expect(audit).toEqual([{ actor: `user:${opUserId}`, details: { slug: tenant.slug, name: 'Doomed Corp' } }]);
  });

  it("the operators' own tenant is never deleted: the console answers the API's 409", async () => {
    const [{ id, slug }] = await t.ds.query(`SELECT id, slug FROM tenants WHERE operator`);
    expect(await follow(`/console/tenants/${id}`)).not.toContain(`/console/tenants/${id}/delete`);
    const res = await post(`/console/tenants/${id}/delete`, { confirm: 'yes', confirmSlug: slug });
    expect(res.status).toBe(409);
    expect(res.text).toContain('cannot be disabled or deleted');
    expect(await exists('tenants', id)).toBe(true);
  });

  it('a target: asks first naming the tenants that lose it, wants the slug, then removes it with its grants', async () => {
    const tenant = await makeTenant(t.ds, { name: 'Keeper Inc' });
    const target = await makeTarget(t, { kind: 'metabase', baseUrl: 'https://mb.example.com', secret: 'b'.repeat(64) });
    await grantAccess(t.ds, tenant.id, target.id);
    const path = `/console/targets/${target.id}`;
    expect(await follow(path)).toContain(`action="${path}/delete"`);

    const forged = await op.on(request(t.http).post(`${path}/delete`)).type('form').send({ confirm: 'yes', confirmSlug: target.slug });
    expect(forged.status).toBe(400);
    expect(await exists('targets', target.id)).toBe(true);

    const ask = await post(`${path}/delete`, {});
    expect(ask.status).toBe(200);
    expect(ask.text).toContain(`Delete ${target.slug}?`);
    expect(ask.text).toContain('the access grants of 1 tenant (Keeper Inc)');
    expect(ask.text).toContain(`Type <code>${target.slug}</code> to confirm`);
    const wrong = await post(`${path}/delete`, { confirm: 'yes', confirmSlug: `${target.slug}x` });
    expect(wrong.status).toBe(400);
    expect(await exists('targets', target.id)).toBe(true);

    const done = await post(`${path}/delete`, { confirm: 'yes', confirmSlug: target.slug });
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe('/console/targets?done=target-deleted');
    expect(await follow(done.headers.location)).toContain('Target deleted');
    expect(await exists('targets', target.id)).toBe(false);
    expect(await t.ds.query(`SELECT 1 FROM tenant_target_access WHERE target_id = $1`, [target.id])).toEqual([]);
    expect(await exists('tenants', tenant.id)).toBe(true);
    const audit = await t.ds.query(`SELECT actor, tenant_id, details FROM audit_events WHERE type = 'target.deleted' AND details->>'targetId' = $1`, [target.id]);
    expect(audit).toEqual([{ actor: `user:${opUserId}`, tenant_id: null, details: { targetId: target.id, slug: target.slug, kind: 'metabase' } }]);
  });

  it('a tenant admin deletes neither their own tenant (403), another (404) nor a target (403); no button shown', async () => {
    const tenant = await makeTenant(t.ds);
    const other = await makeTenant(t.ds);
    const target = await makeTarget(t, { kind: 'metabase', baseUrl: 'https://mb.example.com', secret: 'c'.repeat(64) });
    const admin = await makeUser(t.ds, tenant.id, { password: PASSWORD });
    await t.ds.query(`UPDATE users SET role = 'tenant_admin' WHERE id = $1`, [admin.id]);
    const jar = new CookieJar();
    expect((await signIn(request(t.http), jar, { tenant: tenant.slug, email: admin.email, password: PASSWORD })).status).toBe(303);
    const own = `/console/tenants/${tenant.id}`;
    expect((await jar.on(request(t.http).get(own))).text).not.toContain(`${own}/delete`);

    for (const body of [{}, { confirm: 'yes', confirmSlug: tenant.slug }]) {
      expect((await postAs(jar, `${own}/delete`, body, own)).status).toBe(403);
    }
    expect((await postAs(jar, `/console/tenants/${other.id}/delete`, { confirm: 'yes', confirmSlug: other.slug }, own)).status).toBe(404);
    expect((await postAs(jar, `/console/targets/${target.id}/delete`, { confirm: 'yes', confirmSlug: target.slug }, own)).status).toBe(403);
    expect(await exists('tenants', tenant.id)).toBe(true);
    expect(await exists('tenants', other.id)).toBe(true);
    expect(await exists('targets', target.id)).toBe(true);
    expect(await t.ds.query(`SELECT 1 FROM audit_events WHERE type IN ('tenant.deleted', 'target.deleted') AND actor = $1`, [`user:${admin.id}`])).toEqual([]);
  });
});
