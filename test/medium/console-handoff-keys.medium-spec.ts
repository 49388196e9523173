import request from 'supertest';
import { makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { CookieJar, csrfFieldOf, signIn } from '../support/cookie-jar';
import { signAssertion } from '../support/handoff';

const OP_EMAIL = 'root@platform.example';
const OP_PASSWORD = 'operator password 0001';

/**
 * The console's host hand-off page and the operators' global API keys: the admin API's services,
 * secrets shown once, revocation only from a confirmation page, operators only.
 */
describe('console: host hand-off settings and global API keys', () => {
  let t: TestApp;
  let op: CookieJar;

  beforeAll(async () => {
    t = await createTestApp({ env: { BOOTSTRAP_OPERATOR_EMAIL: OP_EMAIL, BOOTSTRAP_OPERATOR_PASSWORD: OP_PASSWORD } });
    op = new CookieJar();
    expect((await signIn(request(t.http), op, { tenant: 'operators', email: OP_EMAIL, password: OP_PASSWORD })).status).toBe(303);
  });
  afterAll(async () => {
    await t.close();
  });

  const tokenOf = async (jar: CookieJar, path: string) => csrfFieldOf((await jar.on(request(t.http).get(path))).text);
  const post = async (path: string, body: Record<string, unknown>) =>
    op.on(request(t.http).post(path)).type('form').send({ _csrf: await tokenOf(op, '/console/tenants'), ...body });
  const follow = async (location: string) => (await op.on(request(t.http).get(location))).text;
  const handoff = (secret: string, slug: string, email: string) => request(t.http).get(`/login/handoff?assertion=${signAssertion(secret, slug, { email })}`);

  it('saves JIT and group sync; creates a secret shown once that verifies assertions; revokes it after asking', async () => {
    const tenant = await makeTenant(t.ds);
    await makeUser(t.ds, tenant.id, { email: 'known@host.example' });
    const path = `/console/tenants/${tenant.id}/handoff`;
    expect(await follow(`/console/tenants/${tenant.id}`)).toContain(`href="${path}"`);

    const saved = await post(path, { jitProvisioning: 'true' });
    expect(saved.status).toBe(303);
    expect(await follow(saved.headers.location)).toContain('Hand-off settings saved.');
    expect(await t.ds.query(`SELECT jit_provisioning, sync_groups FROM handoff_settings WHERE tenant_id = $1`, [tenant.id])).toEqual([{ jit_provisioning: true, sync_groups: false }]);
    // Unticked is off.
    await post(path, { syncGroups: 'true' });
    expect(await t.ds.query(`SELECT jit_provisioning, sync_groups FROM handoff_settings WHERE tenant_id = $1`, [tenant.id])).toEqual([{ jit_provisioning: false, sync_groups: true }]);

    const made = await post(`${path}/secrets`, {});
    expect(made.status).toBe(201);
    expect(made.text).toContain('shown only this once');
    const secret = /<pre[^>]*>([A-Za-z0-9_-]{43})<\/pre>/.exec(made.text)?.[1];
    expect(secret).toBeDefined();
    expect((await handoff(secret!, tenant.slug, 'known@host.example')).status).toBe(303);
    // Stored sealed; the list shows its id and date, never the value.
    const [{ id, secret_enc }] = await t.ds.query(`SELECT id, secret_enc FROM handoff_secrets WHERE tenant_id = $1`, [tenant.id]);
    expect(secret_enc).not.toContain(secret);
    const list = await follow(path);
    expect(list).toContain(id);
    expect(list).not.toContain(secret!);

    const ask = await post(`${path}/secrets/${id}/revoke`, {});
    expect(ask.status).toBe(200);
    expect(ask.text).toContain('Revoke this hand-off secret?');
    expect(ask.text).toContain('the only one');
    expect((await handoff(secret!, tenant.slug, 'known@host.example')).status).toBe(303);
    const other = await makeTenant(t.ds);
    expect((await post(`/console/tenants/${other.id}/handoff/secrets/${id}/revoke`, { confirm: 'yes' })).status).toBe(404);
    const done = await post(`${path}/secrets/${id}/revoke`, { confirm: 'yes' });
    expect(done.status).toBe(303);
    expect(await follow(done.headers.location)).toContain('Hand-off secret revoked');
    expect((await handoff(secret!, tenant.slug, 'known@host.example')).status).not.toBe(303);
    expect(await t.ds.query(`SELECT 1 FROM handoff_secrets WHERE tenant_id = $1`, [tenant.id])).toHaveLength(0);
  });

  it('creates a global API key shown once that manages any tenant; lists global keys only; revokes after asking', async () => {
    const tenant = await makeTenant(t.ds);
    await post(`/console/tenants/${tenant.id}/api-keys`, { name: 'tenant key' });
    const made = await post('/console/api-keys', { name: 'Terraform' });
    expect(made.status).toBe(201);
    expect(made.text).toContain('shown only this once');
    const key = /<pre[^>]*>(eidp_[A-Za-z0-9_-]+)<\/pre>/.exec(made.text)?.[1];
    expect(key).toBeDefined();
    expect((await request(t.http).get('/api/v1/targets').set('Authorization', `Bearer ${key}`)).status).toBe(200);
    expect(await t.ds.query(`SELECT tenant_id FROM api_keys WHERE name = 'Terraform'`)).toEqual([{ tenant_id: null }]);
    const list = await follow('/console/api-keys');
    expect(list).toContain('Terraform');
    expect(list).not.toContain('tenant key');
    expect(list).not.toContain(key!);

    const bad = await post('/console/api-keys', { name: '' });
    expect(bad.status).toBe(400);

    const [{ id }] = await t.ds.query(`SELECT id FROM api_keys WHERE name = 'Terraform'`);
    const [{ id: tenantKeyId }] = await t.ds.query(`SELECT id FROM api_keys WHERE name = 'tenant key'`);
    // A tenant's key is not revoked from here.
    expect((await post(`/console/api-keys/${tenantKeyId}/revoke`, { confirm: 'yes' })).status).toBe(404);
    const ask = await post(`/console/api-keys/${id}/revoke`, {});
    expect(ask.status).toBe(200);
    expect(ask.text).toContain('Revoke the global API key Terraform?');
    expect((await request(t.http).get('/api/v1/targets').set('Authorization', `Bearer ${key}`)).status).toBe(200);
    const done = await post(`/console/api-keys/${id}/revoke`, { confirm: 'yes' });
    expect(done.status).toBe(303);
    expect(await follow(done.headers.location)).toContain('API key revoked');
    expect((await request(t.http).get('/api/v1/targets').set('Authorization', `Bearer ${key}`)).status).toBe(401);
  });

  it('a tenant admin reaches neither page nor form: 403, nothing written', async () => {
    const tenant = await makeTenant(t.ds);
    const PASSWORD = 'tenant admin password 01';
    const admin = await makeUser(t.ds, tenant.id, { password: PASSWORD });
    await t.ds.query(`UPDATE users SET role = 'tenant_admin' WHERE id = $1`, [admin.id]);
    const jar = new CookieJar();
    expect((await signIn(request(t.http), jar, { tenant: tenant.slug, email: admin.email, password: PASSWORD })).status).toBe(303);
    expect((await jar.on(request(t.http).get('/console'))).status).toBe(200);
    expect((await jar.on(request(t.http).get(`/console/tenants/${tenant.id}`))).text).not.toContain('/handoff"');
    expect((await jar.on(request(t.http).get('/console/api-keys'))).status).toBe(403);
    expect((await jar.on(request(t.http).get(`/console/tenants/${tenant.id}/handoff`))).status).toBe(403);
    const _csrf = await tokenOf(jar, `/console/tenants/${tenant.id}`);
    expect((await jar.on(request(t.http).post('/console/api-keys')).type('form').send({ _csrf, name: 'sneaky' })).status).toBe(403);
    expect((await jar.on(request(t.http).post(`/console/tenants/${tenant.id}/handoff/secrets`)).type('form').send({ _csrf })).status).toBe(403);
    expect((await jar.on(request(t.http).post(`/console/tenants/${tenant.id}/handoff`)).type('form').send({ _csrf, jitProvisioning: 'true' })).status).toBe(403);
    expect(await t.ds.query(`SELECT 1 FROM api_keys WHERE name = 'sneaky'`)).toHaveLength(0);
    expect(await t.ds.query(`SELECT 1 FROM handoff_secrets WHERE tenant_id = $1`, [tenant.id])).toHaveLength(0);
  });
});
