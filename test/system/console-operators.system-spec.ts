import { spawn } from 'node:child_process';
import * as path from 'node:path';
import request from 'supertest';
import { makeApiKey, makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { CookieJar } from '../support/cookie-jar';

/**
 * Who may use the console: the bootstrap operator from the environment, `npm run
 * create-operator`, the reserved operators' tenant, tenant admins, and the tenant-scope rule.
 */
const OP_EMAIL = 'root@platform.example';
const OP_PASSWORD = 'operator password 0001';
const PASSWORD = 'correct horse battery staple';

async function signIn(t: TestApp, tenant: string, email: string, password: string): Promise<CookieJar> {
  const jar = new CookieJar();
  const page = jar.store(await request(t.http).get('/login'));
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)![1];
  const res = jar.store(await jar.on(request(t.http).post('/login')).type('form').send({ _csrf: csrf, tenant, email, password }));
  expect(res.status).toBe(303);
  return jar;
}

const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)![1];

describe('console: operators, tenant admins and scope', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { BOOTSTRAP_OPERATOR_EMAIL: OP_EMAIL, BOOTSTRAP_OPERATOR_PASSWORD: OP_PASSWORD } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('creates the bootstrap operator at start, in the one operator tenant, audited as system', async () => {
    const rows = await t.ds.query(
      `SELECT t.slug, t.operator, u.email FROM users u JOIN tenants t ON t.id = u.tenant_id WHERE t.operator`,
    );
    expect(rows).toEqual([{ slug: 'operators', operator: true, email: OP_EMAIL }]);
    const [ev] = await t.ds.query(`SELECT actor FROM audit_events WHERE type = 'user.created' AND details->>'email' = $1`, [OP_EMAIL]);
    expect(ev.actor).toBe('system');
    // A second operator tenant cannot exist (partial unique index).
    await expect(t.ds.query(`INSERT INTO tenants (slug, name, operator) VALUES ('x-ops', 'X', true)`)).rejects.toThrow(/uq_tenants_operator/);
  });

  it('keeps the operators\' tenant out of reach of the admin API: reserved slug, no flag field', async () => {
    const key = await makeApiKey(t.ds);
    const reserved = await request(t.http).post('/api/v1/tenants').set('Authorization', `Bearer ${key}`).send({ slug: 'operators', name: 'Mine now' });
    expect(reserved.status).toBe(409);
    expect(reserved.body.error).toBe('tenant_slug_reserved');
    const flag = await request(t.http).post('/api/v1/tenants').set('Authorization', `Bearer ${key}`).send({ slug: 'sneaky', name: 'S', operator: true });
    expect(flag.status).toBe(400);
    expect(await t.ds.query(`SELECT 1 FROM tenants WHERE slug = 'sneaky'`)).toHaveLength(0);
    // Nor can it be disabled or deleted, which would lock every operator out.
    const [ops] = await t.ds.query(`SELECT id FROM tenants WHERE operator`);
    const disable = await request(t.http).patch(`/api/v1/tenants/${ops.id}`).set('Authorization', `Bearer ${key}`).send({ disabled: true });
    expect(disable.status).toBe(409);
    expect((await request(t.http).delete(`/api/v1/tenants/${ops.id}`).set('Authorization', `Bearer ${key}`)).status).toBe(409);
    expect(await t.ds.query(`SELECT disabled FROM tenants WHERE id = $1`, [ops.id])).toEqual([{ disabled: false }]);
  });

  it('lets the operator in through the same /login; a plain member gets 403; signed out goes to the login page', async () => {
    const op = await signIn(t, 'operators', OP_EMAIL, OP_PASSWORD);
    const page = await op.on(request(t.http).get('/console'));
    expect(page.status).toBe(200);
    expect(page.text).toContain('Tenants');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");

    const tenant = await makeTenant(t.ds);
    const member = await makeUser(t.ds, tenant.id, { password: PASSWORD });
    const m = await signIn(t, tenant.slug, member.email, PASSWORD);
    expect((await m.on(request(t.http).get('/console'))).status).toBe(403);

    const anon = await request(t.http).get('/console/tenants');
    expect(anon.status).toBe(303);
    expect(anon.headers.location).toBe(`/login?tenant=operators&next=${encodeURIComponent('/console/tenants')}`);
    // The sign-in page it lands on has the operators' organization filled in.
    const form = await request(t.http).get(anon.headers.location);
    expect(form.text).toMatch(/id="tenant" name="tenant"[^>]*value="operators"/);
  });

  it('/console/targets/new without a kind lists the kinds; /favicon.ico is an icon, not a 404', async () => {
    const op = await signIn(t, 'operators', OP_EMAIL, OP_PASSWORD);
    const choose = await op.on(request(t.http).get('/console/targets/new'));
    expect(choose.status).toBe(200);
    expect(choose.text).toContain('/console/targets/new?kind=metabase');
    expect((await op.on(request(t.http).get('/console/targets/new?kind=nope'))).status).toBe(404);
    const icon = await request(t.http).get('/favicon.ico');
    expect(icon.status).toBe(200);
    expect(icon.headers['content-type']).toMatch(/^image\/svg\+xml/);
  });

  it('disables a tenant only after a confirmation page, says so, and then offers no "Add user"', async () => {
    const op = await signIn(t, 'operators', OP_EMAIL, OP_PASSWORD);
    const tenant = await makeTenant(t.ds, { name: 'Soon Off' });
    const page = await op.on(request(t.http).get(`/console/tenants/${tenant.id}`));
    expect(page.text).toContain('Add user');
    const csrf = csrfOf(page.text);
    // The button on the tenant page: a confirmation, nothing changed yet.
    const first = await op.on(request(t.http).post(`/console/tenants/${tenant.id}/disable`)).type('form').send({ _csrf: csrf });
    expect(first.status).toBe(200);
    expect(first.text).toContain('Disable Soon Off?');
    expect(first.text).toContain('name="confirm" value="yes"');
    expect(await t.ds.query(`SELECT disabled FROM tenants WHERE id = $1`, [tenant.id])).toEqual([{ disabled: false }]);
    // Confirmed: disabled, and the message says what happened.
    const confirmed = await op.on(request(t.http).post(`/console/tenants/${tenant.id}/disable`)).type('form').send({ _csrf: csrfOf(first.text), confirm: 'yes' });
    expect(confirmed.status).toBe(303);
    expect(confirmed.headers.location).toBe(`/console/tenants/${tenant.id}?done=tenant-disabled`);
    expect(await t.ds.query(`SELECT disabled FROM tenants WHERE id = $1`, [tenant.id])).toEqual([{ disabled: true }]);
    const after = await op.on(request(t.http).get(confirmed.headers.location));
    expect(after.text).toContain('Tenant disabled: its users were signed out');
    expect(after.text).not.toContain('<button type="submit">Add user</button>');
    expect(after.text).toContain('Enable tenant');
  });

  it('gives a tenant admin their own tenant only: another tenant\'s URL is a 404, a POST there changes nothing', async () => {
    const mine = await makeTenant(t.ds, { name: 'Mine' });
    const other = await makeTenant(t.ds, { name: 'Other' });
    const admin = await makeUser(t.ds, mine.id, { password: PASSWORD });
    await t.ds.query(`UPDATE users SET role = 'tenant_admin' WHERE id = $1`, [admin.id]);
    const jar = await signIn(t, mine.slug, admin.email, PASSWORD);

    const own = await jar.on(request(t.http).get(`/console/tenants/${mine.id}`));
    expect(own.status).toBe(200);
    expect(own.text).toContain('Mine');
    const list = await jar.on(request(t.http).get('/console/tenants'));
    expect(list.status).toBe(303);
    expect(list.headers.location).toBe(`/console/tenants/${mine.id}`);

    const theirs = await jar.on(request(t.http).get(`/console/tenants/${other.id}`));
    expect(theirs.status).toBe(404);
    expect(theirs.text).not.toContain('Other');
    const garbage = await jar.on(request(t.http).get(`/console/tenants/not-a-uuid`));
    expect(garbage.status).toBe(404);

    const csrf = csrfOf(own.text);
    const post = await jar.on(request(t.http).post(`/console/tenants/${other.id}/users`)).type('form').send({ _csrf: csrf, email: 'x@y.example' });
    expect(post.status).toBe(404);
    expect(await t.ds.query(`SELECT 1 FROM users WHERE tenant_id = $1`, [other.id])).toHaveLength(0);
    // Creating tenants is an operator's (a global key's) business.
    expect((await jar.on(request(t.http).post('/console/tenants')).type('form').send({ _csrf: csrf, name: 'N', slug: 'n-1' })).status).toBe(403);
    expect((await jar.on(request(t.http).get('/console/targets'))).status).toBe(403);

    // As with a tenant-scoped key: `disabled` is the operator's to set, even on their own tenant.
    expect((await jar.on(request(t.http).post(`/console/tenants/${mine.id}/disable`)).type('form').send({ _csrf: csrf })).status).toBe(403);
    expect(await t.ds.query(`SELECT disabled FROM tenants WHERE id = $1`, [mine.id])).toEqual([{ disabled: false }]);

    // In their own tenant the action works and is audited with them as actor.
    const ok = await jar.on(request(t.http).post(`/console/tenants/${mine.id}/groups`)).type('form').send({ _csrf: csrf, name: 'analysts' });
    expect(ok.status).toBe(303);
    const [ev] = await t.ds.query(`SELECT actor FROM audit_events WHERE type = 'group.created' AND tenant_id = $1`, [mine.id]);
    expect(ev.actor).toBe(`user:${admin.id}`);
  });

  it('lists a user\'s sessions and ends one, audited with the operator as actor', async () => {
    const tenant = await makeTenant(t.ds);
    const member = await makeUser(t.ds, tenant.id, { password: PASSWORD });
    const memberJar = await signIn(t, tenant.slug, member.email, PASSWORD);
    const op = await signIn(t, 'operators', OP_EMAIL, OP_PASSWORD);
    const page = await op.on(request(t.http).get(`/console/tenants/${tenant.id}/users/${member.id}`));
    const action = /action="([^"]+\/sessions\/[0-9a-f]{64}\/revoke)"/.exec(page.text)![1];
    const res = await op.on(request(t.http).post(action)).type('form').send({ _csrf: csrfOf(page.text) });
    expect(res.status).toBe(303);
    expect((await memberJar.on(request(t.http).get('/account'))).status).toBe(303);
    const [ev] = await t.ds.query(`SELECT actor FROM audit_events WHERE type = 'session.revoked' AND tenant_id = $1`, [tenant.id]);
    const [opUser] = await t.ds.query(`SELECT id FROM users WHERE email = $1`, [OP_EMAIL]);
    expect(ev.actor).toBe(`user:${opUser.id}`);
  });

  it('filters the audit log and refuses a bad filter next to its field; a tenant admin cannot read another tenant\'s events', async () => {
    const op = await signIn(t, 'operators', OP_EMAIL, OP_PASSWORD);
    const ok = await op.on(request(t.http).get('/console/audit?type=tenant.created&from=2020-01-01T00:00'));
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('tenant.created');
    expect(ok.text).not.toContain('<code>login.success</code>');
    const bad = await op.on(request(t.http).get('/console/audit?type=Not+A+Type&from=yesterday'));
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('id="audit-type-error"');
    expect(bad.text).toContain('id="audit-from-error"');
    expect(bad.text).toContain('value="yesterday"');

    const mine = await makeTenant(t.ds);
    const other = await makeTenant(t.ds);
    const admin = await makeUser(t.ds, mine.id, { password: PASSWORD });
    await t.ds.query(`UPDATE users SET role = 'tenant_admin' WHERE id = $1`, [admin.id]);
    const jar = await signIn(t, mine.slug, admin.email, PASSWORD);
    expect((await jar.on(request(t.http).get(`/console/audit?tenantId=${other.id}`))).status).toBe(404);
    const own = await jar.on(request(t.http).get('/console/audit'));
    expect(own.status).toBe(200);
    expect(own.text).not.toContain(other.id);
  });

  it('names the audit actors, filters by type and by refusal reason, and its download buttons carry the filters; an overview refusal links there', async () => {
    const op = await signIn(t, 'operators', OP_EMAIL, OP_PASSWORD);
    const tenant = await makeTenant(t.ds);
    const user = await makeUser(t.ds, tenant.id, { email: `ada-${tenant.slug}@acme.test` });
    await makeApiKey(t.ds, null, `deploy bot ${tenant.slug}`);
    const [key] = await t.ds.query(`SELECT id FROM api_keys WHERE name = $1`, [`deploy bot ${tenant.slug}`]);
    await t.ds.query(
      `INSERT INTO audit_events (type, actor, tenant_id, details) VALUES
        ('sso.token_issued', $1, $3, '{"target": "no-such-target", "flow": "redirect"}'),
        ('user.updated', $2, $3, $4),
        ('sso.denied', $1, $3, '{"target": "no-such-target", "reason": "no_access"}'),
        ('sso.denied', $1, $3, '{"target": "no-such-target", "reason": "too_many_handshakes"}')`,
      [`user:${user.id}`, `apikey:${key.id}`, tenant.id, JSON.stringify({ userId: user.id, email: user.email })],
    );

    const all = await op.on(request(t.http).get(`/console/audit?tenantId=${tenant.id}`));
    expect(all.status).toBe(200);
    expect(all.text).toContain(`${user.email} signed in to target no-such-target`);
    expect(all.text).toContain(`API key “deploy bot ${tenant.slug}”: user updated — ${user.email}`);
    expect(all.text).toContain(`refused (SSO): no access — ${user.email}, target no-such-target`);
    // The raw details, pretty-printed, one click away; the type a choice of the known ones.
    expect(all.text).toContain('<pre>{\n  &quot;reason&quot;: &quot;no_access&quot;,\n  &quot;target&quot;: &quot;no-such-target&quot;\n}</pre></details>');
    expect(all.text).toMatch(/<select id="audit-type" name="type">[\s\S]*<option value="sso.denied">refused: SSO \(sso.denied\)<\/option>/);

    const denied = await op.on(request(t.http).get(`/console/audit?tenantId=${tenant.id}&type=sso.denied&reason=no_access`));
    expect(denied.status).toBe(200);
    expect(denied.text).toContain('refused (SSO): no access');
    expect(denied.text).not.toContain('too many SSO handshakes —');
    expect(denied.text).not.toContain('signed in to target');
    expect(denied.text).toContain('<option value="sso.denied" selected>');
    const csv = /id="export-csv" href="([^"]+)"/.exec(denied.text)![1].replace(/&amp;/g, '&');
    expect(csv).toBe(`/console/audit/export?type=sso.denied&reason=no_access&tenantId=${tenant.id}&format=csv`);
    const download = await op.on(request(t.http).get(csv));
    expect(download.status).toBe(200);
    expect(download.text.trim().split('\n')).toHaveLength(2); // the header and the one no_access refusal

    const overview = await op.on(request(t.http).get('/console'));
    const link = /<a href="([^"]+)">SSO: no access<\/a>/.exec(overview.text);
    expect(link).not.toBeNull();
    const filtered = await op.on(request(t.http).get(link![1].replace(/&amp;/g, '&')));
    expect(filtered.status).toBe(200);
    expect(filtered.text).toContain(`refused (SSO): no access — ${user.email}`);
    expect(filtered.text).not.toContain('too many SSO handshakes —');
  });

  // ISO 8601 forms Date cannot read (week and ordinal dates), impossible days and hours: the
  // console and the API read dates with one parser and answer the same 400, never a 500.
  it.each(['2025-W01', '2025-W01-1', '2025-001', '2025-02-30', '2025-01-01T24:30', '+002025-01-01', '2025-01-01T12:00:00+25:00'])(
    'the audit filter from=%s: 400 next to the field on the console, 400 from the API',
    async (value) => {
      const op = await signIn(t, 'operators', OP_EMAIL, OP_PASSWORD);
      const page = await op.on(request(t.http).get(`/console/audit?from=${encodeURIComponent(value)}`));
      expect({ status: page.status, field: page.text.includes('id="audit-from-error"') }).toEqual({ status: 400, field: true });
      expect(page.text).toContain('From must be an ISO 8601 date or date-time');
      const key = await makeApiKey(t.ds);
      const api = await request(t.http).get(`/api/v1/audit-events?from=${encodeURIComponent(value)}`).set('Authorization', `Bearer ${key}`);
      expect({ status: api.status, error: api.body.error }).toEqual({ status: 400, error: 'validation_failed' });
      expect(api.body.message).toContain('From must be an ISO 8601 date or date-time');
    },
  );

  it('email domains: an operator gives one to a tenant; another tenant\'s user in it is refused next to the email field', async () => {
    const op = await signIn(t, 'operators', OP_EMAIL, OP_PASSWORD);
    const a = await makeTenant(t.ds, { name: 'A Corp' });
    const b = await makeTenant(t.ds, { name: 'B Corp' });
    const page = await op.on(request(t.http).get(`/console/tenants/${a.id}`));
    const csrf = csrfOf(page.text);
    const bad = await op.on(request(t.http).post(`/console/tenants/${a.id}/email-domains`)).type('form').send({ _csrf: csrf, domain: 'not a domain' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('id="domain-domain-error"');
    expect(bad.text).toContain('value="not a domain"');
    const ok = await op.on(request(t.http).post(`/console/tenants/${a.id}/email-domains`)).type('form').send({ _csrf: csrf, domain: 'a-corp.example' });
    expect(ok.status).toBe(303);
    expect((await op.on(request(t.http).get(`/console/tenants/${a.id}`))).text).toContain('<code>a-corp.example</code>');

    const refused = await op.on(request(t.http).post(`/console/tenants/${b.id}/users`)).type('form').send({ _csrf: csrf, email: 'eve@a-corp.example', firstName: 'Eve' });
    expect(refused.status).toBe(409);
    expect(refused.text).toMatch(/id="user-email-error">Email addresses in a-corp.example belong to another organization/);
    expect(refused.text).toContain('value="Eve"');
    expect(await t.ds.query(`SELECT 1 FROM users WHERE email = 'eve@a-corp.example'`)).toHaveLength(0);
  });

  it('refuses a console POST without the CSRF token, writing nothing', async () => {
    const op = await signIn(t, 'operators', OP_EMAIL, OP_PASSWORD);
    const res = await op.on(request(t.http).post('/console/tenants')).type('form').send({ name: 'Forged', slug: 'forged' });
    expect(res.status).toBe(400);
    expect(await t.ds.query(`SELECT 1 FROM tenants WHERE slug = 'forged'`)).toHaveLength(0);
  });

  it('re-renders a refused form with the problem by the field and the values kept, writing nothing', async () => {
    const op = await signIn(t, 'operators', OP_EMAIL, OP_PASSWORD);
    const csrf = csrfOf((await op.on(request(t.http).get('/console/tenants'))).text);
    const bad = await op.on(request(t.http).post('/console/tenants')).type('form').send({ _csrf: csrf, name: 'Acme <Corp>', slug: 'Not A Slug' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('id="create-slug-error"');
    expect(bad.text).toContain('value="Acme &lt;Corp&gt;"');
    expect(bad.text).toContain('value="Not A Slug"');
    const taken = await op.on(request(t.http).post('/console/tenants')).type('form').send({ _csrf: csrf, name: 'Ops 2', slug: 'operators' });
    expect(taken.status).toBe(409);
    expect(taken.text).toMatch(/id="create-slug-error">the slug &quot;operators&quot; is reserved/);
  });

  it('npm run create-operator: prompts, never echoes the password, creates an operator who can sign in', async () => {
    const email = 'second@platform.example';
    const password = 'typed into a prompt 42';
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(__dirname, '../../src/console/create-operator.ts')], {
      cwd: path.join(__dirname, '../..'),
      env: { ...process.env, DATABASE_URL: t.db.url, LOG_LEVEL: 'error', NODE_ENV: 'test' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (out += String(d)));
    child.stdin.write(`${email}\n${password}\n${password}\n`);
    child.stdin.end();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(out).toContain('Operator email:');
    expect(out).toContain('Password');
    expect(out).not.toContain(password);
    expect(code).toBe(0);
    const op = await signIn(t, 'operators', email, password);
    expect((await op.on(request(t.http).get('/console'))).status).toBe(200);
  }, 60_000);
});
