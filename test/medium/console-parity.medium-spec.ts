import request from 'supertest';
import { grantAccess, makeTarget, makeTenant, makeUser } from '../factories';
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
    expect(bad.text).toContain('After sign-out address must be an absolute http(s) URL');
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

  it("names a product setting by its label when the service refuses it, never by its JSON path", async () => {
    const target = await makeTarget(t, { kind: 'metabase', baseUrl: 'https://mb.example', secret: 'metabase-jwt-secret-0123456789abcdef' });
    const res = await post(`/console/targets/${target.id}`, { name: 'MB', baseUrl: 'https://mb.example', 'settings.tokenTtlSeconds': '5000' });
    expect(res.status).toBe(400);
    expect(res.text).toContain('SSO token lifetime (s) must be a whole number from 60 to 600');
    expect(res.text).not.toContain('settings.tokenTtlSeconds must');
  });

  it('names the user fields in words, the same as the admin API: "Email", "First name", never email / firstName', async () => {
    const tenant = await makeTenant(t.ds);
    const res = await post(`/console/tenants/${tenant.id}/users`, { email: 'not-an-email', firstName: 'x'.repeat(101), lastName: '', role: 'member' });
    expect(res.status).toBe(400);
    expect(res.text).toContain('Email must be an email address');
    expect(res.text).toContain('First name must be at most 100 characters');
    expect(res.text).not.toMatch(/email must be|firstName must be/);
    expect(await t.ds.query(`SELECT 1 FROM users WHERE tenant_id = $1`, [tenant.id])).toHaveLength(0);
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

  it('creates a tenant API key shown once, which the admin API accepts for that tenant only; revokes it after asking', async () => {
    const tenant = await makeTenant(t.ds);
    const other = await makeTenant(t.ds);
    const path = `/console/tenants/${tenant.id}/api-keys`;
    const made = await post(path, { name: 'CI provisioning' });
    expect(made.status).toBe(201);
    const key = /<pre[^>]*>(eidp_[A-Za-z0-9_-]+)<\/pre>/.exec(made.text)?.[1];
    expect(key).toBeDefined();
    expect(made.text).toContain('shown only this once');
    expect((await request(t.http).get(`/api/v1/tenants/${tenant.id}/users`).set('Authorization', `Bearer ${key}`)).status).toBe(200);
    expect((await request(t.http).get(`/api/v1/tenants/${other.id}/users`).set('Authorization', `Bearer ${key}`)).status).toBe(404);
    // Listed by name and prefix, never the key itself.
    const list = await follow(path);
    expect(list).toContain('CI provisioning');
    expect(list).not.toContain(key!);

    const bad = await post(path, { name: '' });
    expect(bad.status).toBe(400);
    expect(await t.ds.query(`SELECT name FROM api_keys WHERE tenant_id = $1`, [tenant.id])).toEqual([{ name: 'CI provisioning' }]);

    const [{ id }] = await t.ds.query(`SELECT id FROM api_keys WHERE tenant_id = $1`, [tenant.id]);
    const forged = await op.on(request(t.http).post(`${path}/${id}/revoke`)).type('form').send({ _csrf: 'forged', confirm: 'yes' });
    expect(forged.status).toBe(400);
    const ask = await post(`${path}/${id}/revoke`, {});
    expect(ask.status).toBe(200);
    expect(ask.text).toContain('Revoke the API key CI provisioning?');
    expect((await request(t.http).get(`/api/v1/tenants/${tenant.id}/users`).set('Authorization', `Bearer ${key}`)).status).toBe(200);
    // Another tenant's page cannot revoke it.
    expect((await post(`/console/tenants/${other.id}/api-keys/${id}/revoke`, { confirm: 'yes' })).status).toBe(404);
    const done = await post(`${path}/${id}/revoke`, { confirm: 'yes' });
    expect(done.status).toBe(303);
    expect(await follow(done.headers.location)).toContain('API key revoked');
    expect((await request(t.http).get(`/api/v1/tenants/${tenant.id}/users`).set('Authorization', `Bearer ${key}`)).status).toBe(401);
  });

  it('revokes an access grant only from the confirmation page', async () => {
    const tenant = await makeTenant(t.ds);
    const target = await makeTarget(t, { kind: 'metabase', baseUrl: 'https://mb.example', secret: 'metabase-jwt-secret-0123456789abcdef' });
    await grantAccess(t.ds, tenant.id, target.id);
    const path = `/console/tenants/${tenant.id}/access/${target.id}/revoke`;
    const ask = await post(path, {});
    expect(ask.status).toBe(200);
    expect(ask.text).toContain('access to');
    expect(await t.ds.query(`SELECT 1 FROM tenant_target_access WHERE tenant_id = $1`, [tenant.id])).toHaveLength(1);
    const done = await post(path, { confirm: 'yes' });
    expect(done.status).toBe(303);
    expect(await follow(done.headers.location)).toContain('Access grant revoked.');
    expect(await t.ds.query(`SELECT 1 FROM tenant_target_access WHERE tenant_id = $1`, [tenant.id])).toHaveLength(0);
  });

  it('saves branding with the API\'s checks (empty clears) and draws a server-side preview with the escaped name', async () => {
    const tenant = await makeTenant(t.ds);
    const path = `/console/tenants/${tenant.id}/branding`;
    const bad = await post(path, { displayName: 'Acme', logoUrl: 'http://insecure.example/logo.png', accentColor: 'red', supportContact: '' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('accent');
    const ok = await post(path, { displayName: 'Acme & Co "Analytics"', logoUrl: 'https://cdn.acme.example/logo.svg', accentColor: '#0A7D4F', supportContact: 'help@acme.example' });
    expect(ok.status).toBe(303);
    expect(await follow(ok.headers.location)).toContain('Branding saved');
    expect(await t.ds.query(`SELECT brand_display_name, brand_logo_url, brand_accent_color, brand_support_contact FROM tenants WHERE id = $1`, [tenant.id])).toEqual([
      { brand_display_name: 'Acme & Co "Analytics"', brand_logo_url: 'https://cdn.acme.example/logo.svg', brand_accent_color: '#0a7d4f', brand_support_contact: 'help@acme.example' },
    ]);
    const svg = await op.on(request(t.http).get(`${path}/preview.svg`)).buffer(true).parse((r, cb) => { let d = ''; r.on('data', (c: Buffer) => (d += c)); r.on('end', () => cb(null, d)); });
    expect(svg.status).toBe(200);
    expect(svg.headers['content-type']).toMatch(/^image\/svg\+xml/);
    expect(svg.body).toContain('Acme &amp; Co &quot;Analytics&quot;');
    expect(svg.body).toContain('fill="#0a7d4f"');
    expect(svg.body).toContain('fill="#ffffff">Sign in');
    const cleared = await post(path, { displayName: '', logoUrl: '', accentColor: '', supportContact: '' });
    expect(cleared.status).toBe(303);
    expect(await t.ds.query(`SELECT brand_display_name, brand_accent_color FROM tenants WHERE id = $1`, [tenant.id])).toEqual([{ brand_display_name: null, brand_accent_color: null }]);
  });
});
