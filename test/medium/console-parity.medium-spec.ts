import request from 'supertest';
import { makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { CookieJar, csrfFieldOf, signIn } from '../support/cookie-jar';

const OP_EMAIL = 'root@platform.example';
const OP_PASSWORD = 'operator password 0001';

/**
 * The console does what the admin API does, through the same services and DTO checks: typed
 * attributes on tenants and users (the stored JSON is the API's), the logout landing URL, and
 * deletes that ask first.
 */
describe('console: parity with the admin API', () => {
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

  const tokenOf = async (path: string) => csrfFieldOf((await op.on(request(t.http).get(path))).text);
  const post = async (path: string, body: Record<string, unknown>) => op.on(request(t.http).post(path)).type('form').send({ _csrf: await tokenOf('/console/tenants'), ...body });
  const follow = async (location: string) => (await op.on(request(t.http).get(location))).text;

  it('stores tenant attributes typed as the API does: 42 a number, true a boolean, "42" text; shows them back', async () => {
    const tenant = await makeTenant(t.ds);
    const res = await post(`/console/tenants/${tenant.id}`, {
      name: 'Acme', mfaPolicy: 'off', logoutLandingUrl: 'https://app.acme.example/bye',
      attr_key: ['customer_id', 'beta', 'label', ''], attr_value: ['42', 'true', '"42"', ''],
    });
    expect(res.status).toBe(303);
    expect(await follow(res.headers.location)).toContain('Tenant saved.');
    const [row] = await t.ds.query(`SELECT attributes, logout_landing_url FROM tenants WHERE id = $1`, [tenant.id]);
    expect(row).toEqual({ attributes: { customer_id: 42, beta: true, label: '42' }, logout_landing_url: 'https://app.acme.example/bye' });
    const page = await follow(`/console/tenants/${tenant.id}`);
    expect(page).toContain('value="42"');
    expect(page).toContain('value="&quot;42&quot;"');
    expect(page).toContain('value="https://app.acme.example/bye"');

    // An emptied landing URL clears it (null, as in the API).
    const cleared = await post(`/console/tenants/${tenant.id}`, { name: 'Acme', mfaPolicy: 'off', logoutLandingUrl: '', attr_key: ['customer_id'], attr_value: ['42'] });
    expect(cleared.status).toBe(303);
    expect(await t.ds.query(`SELECT attributes, logout_landing_url FROM tenants WHERE id = $1`, [tenant.id])).toEqual([{ attributes: { customer_id: 42 }, logout_landing_url: null }]);
  });

  it('refuses a bad landing URL and a nameless attribute with the API\'s words, changing nothing', async () => {
    const tenant = await makeTenant(t.ds, { attributes: { region: 'eu' } });
    const bad = await post(`/console/tenants/${tenant.id}`, { name: 'Changed', mfaPolicy: 'off', logoutLandingUrl: 'javascript:alert(1)' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('logoutLandingUrl must be an absolute http(s) URL');
    const nameless = await post(`/console/tenants/${tenant.id}`, { name: 'Changed', mfaPolicy: 'off', logoutLandingUrl: '', attr_key: [''], attr_value: ['7'] });
    expect(nameless.status).toBe(400);
    expect(nameless.text).toContain('Each attribute needs a name.');
    expect(await t.ds.query(`SELECT name, attributes FROM tenants WHERE id = $1`, [tenant.id])).toEqual([{ name: tenant.name, attributes: { region: 'eu' } }]);
  });

  it('stores user attributes typed as the API does', async () => {
    const tenant = await makeTenant(t.ds);
    const user = await makeUser(t.ds, tenant.id);
    const res = await post(`/console/tenants/${tenant.id}/users/${user.id}`, { firstName: 'Ada', lastName: 'L', role: 'member', attr_key: ['seat', 'admin', 'zip'], attr_value: ['3', 'false', '"01234"'] });
    expect(res.status).toBe(303);
    expect(await follow(res.headers.location)).toContain('User saved.');
    expect(await t.ds.query(`SELECT first_name, attributes FROM users WHERE id = $1`, [user.id])).toEqual([{ first_name: 'Ada', attributes: { seat: 3, admin: false, zip: '01234' } }]);
  });

  it('deletes a user only from the confirmation page; a forged form deletes nothing', async () => {
    const tenant = await makeTenant(t.ds);
    const user = await makeUser(t.ds, tenant.id);
    const path = `/console/tenants/${tenant.id}/users/${user.id}/delete`;
    const ask = await post(path, {});
    expect(ask.status).toBe(200);
    expect(ask.text).toContain(`Delete ${user.email}?`);
    expect(ask.text).toContain('name="confirm" value="yes"');
    expect(await t.ds.query(`SELECT 1 FROM users WHERE id = $1`, [user.id])).toHaveLength(1);

    const forged = await op.on(request(t.http).post(path)).type('form').send({ _csrf: 'not-the-token', confirm: 'yes' });
    expect(forged.status).toBe(400);
    expect(await t.ds.query(`SELECT 1 FROM users WHERE id = $1`, [user.id])).toHaveLength(1);

    const done = await post(path, { confirm: 'yes' });
    expect(done.status).toBe(303);
    expect(done.headers.location).toBe(`/console/tenants/${tenant.id}?done=user-deleted`);
    expect(await follow(done.headers.location)).toContain('User deleted');
    expect(await t.ds.query(`SELECT 1 FROM users WHERE id = $1`, [user.id])).toHaveLength(0);
    expect(await t.ds.query(`SELECT details->>'email' AS email FROM audit_events WHERE type = 'user.deleted' AND tenant_id = $1`, [tenant.id])).toEqual([{ email: user.email }]);
  });

  it('deletes a group only from the confirmation page', async () => {
    const tenant = await makeTenant(t.ds);
    const created = await post(`/console/tenants/${tenant.id}/groups`, { name: 'analysts' });
    expect(created.status).toBe(303);
    const [{ id }] = await t.ds.query(`SELECT id FROM groups WHERE tenant_id = $1`, [tenant.id]);
    const ask = await post(`/console/tenants/${tenant.id}/groups/${id}/remove`, {});
    expect(ask.status).toBe(200);
    expect(ask.text).toContain('Delete the group analysts?');
    expect(await t.ds.query(`SELECT 1 FROM groups WHERE id = $1`, [id])).toHaveLength(1);
    const done = await post(`/console/tenants/${tenant.id}/groups/${id}/remove`, { confirm: 'yes' });
    expect(done.status).toBe(303);
    expect(await follow(done.headers.location)).toContain('Group deleted.');
    expect(await t.ds.query(`SELECT 1 FROM groups WHERE id = $1`, [id])).toHaveLength(0);
  });
});
