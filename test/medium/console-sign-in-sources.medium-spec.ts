import request from 'supertest';
import { SecretBox } from '../../src/crypto/secret-box';
import { issuerUrlProblem } from '../../src/inbound/oidc-issuers';
import { upstreamSecretContext } from '../../src/inbound/oidc-upstream/upstream-provider.entity';
import { makeApiKey, makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { CookieJar, csrfFieldOf, signIn } from '../support/cookie-jar';

const OP_EMAIL = 'root@platform.example';
const OP_PASSWORD = 'operator password 0001';

/** The console's sign-in sources page: trusted issuers and company sign-in, through the admin API's services. */
describe('console: a tenant\'s sign-in sources', () => {
  let t: TestApp;
  let op: CookieJar;
  let tenant: { id: string; slug: string };
  const page = () => `/console/tenants/${tenant.id}/sign-in`;

  beforeAll(async () => {
    t = await createTestApp({ env: { BOOTSTRAP_OPERATOR_EMAIL: OP_EMAIL, BOOTSTRAP_OPERATOR_PASSWORD: OP_PASSWORD } });
    op = new CookieJar();
    expect((await signIn(request(t.http), op, { tenant: 'operators', email: OP_EMAIL, password: OP_PASSWORD })).status).toBe(303);
    tenant = await makeTenant(t.ds);
  });
  afterAll(async () => {
    await t.close();
  });

  const csrf = async () => csrfFieldOf((await op.on(request(t.http).get(page()))).text);
  const issuerRows = () => t.ds.query(`SELECT issuer, audience, algorithms, claim_email, max_token_age_seconds, jit_provisioning, sync_groups FROM trusted_issuers WHERE tenant_id = $1`, [tenant.id]);

  it('is linked from the tenant page', async () => {
    const res = await op.on(request(t.http).get(`/console/tenants/${tenant.id}`));
    expect(res.text).toContain(`href="/console/tenants/${tenant.id}/sign-in"`);
  });

  it('adds a trusted issuer, stored as the API stores it (defaults, algorithms de-duplicated)', async () => {
    const res = await op.on(request(t.http).post(`${page()}/issuers`)).type('form')
      .send(`_csrf=${encodeURIComponent(await csrf())}&issuer=${encodeURIComponent('https://acme.eu.auth0.com/')}&audience=acme-client&algorithms=RS256&algorithms=ES256&jitProvisioning=true`);
    expect(res.status).toBe(303);
    expect(res.headers.location).toContain('done=issuer-added');
    expect(await issuerRows()).toEqual([
      { issuer: 'https://acme.eu.auth0.com/', audience: 'acme-client', algorithms: ['RS256', 'ES256'], claim_email: 'email', max_token_age_seconds: 300, jit_provisioning: true, sync_groups: false },
    ]);
    const shown = await op.on(request(t.http).get(page()));
    expect(shown.text).toContain('https://acme.eu.auth0.com/');
    expect(shown.text).toContain('RS256, ES256');
  });

  it('adds a trusted issuer with its claim mapping, age limit and group sync, and shows them', async () => {
    const res = await op.on(request(t.http).post(`${page()}/issuers`)).type('form').send({
      _csrf: await csrf(), issuer: 'https://sso.example.com/realms/acme', audience: 'acme-kc', algorithms: 'ES256',
      claimEmail: 'preferred_username', claimFirstName: 'name.given', claimLastName: ' ', claimGroups: 'realm_access.roles', maxTokenAgeSeconds: '900', syncGroups: 'true',
    });
    expect(res.status).toBe(303);
    const [row] = await t.ds.query(
      `SELECT algorithms, claim_email, claim_first_name, claim_last_name, claim_groups, max_token_age_seconds, jit_provisioning, sync_groups FROM trusted_issuers WHERE audience = 'acme-kc'`,
    );
    // A blank field is the API's default, as a call without it.
    expect(row).toEqual({ algorithms: ['ES256'], claim_email: 'preferred_username', claim_first_name: 'name.given', claim_last_name: 'family_name', claim_groups: 'realm_access.roles', max_token_age_seconds: 900, jit_provisioning: false, sync_groups: true });
    const shown = await op.on(request(t.http).get(page()));
    expect(shown.text).toContain('<code>preferred_username</code>');
    expect(shown.text).toContain('groups (synced) <code>realm_access.roles</code>');
    expect(shown.text).toContain('at most 900 s old');
    await t.ds.query(`DELETE FROM trusted_issuers WHERE audience = 'acme-kc'`);
  });

  it('refuses an age limit or a claim the API refuses, in its words, keeping what was typed', async () => {
    const before = (await issuerRows()).length;
    const age = await op.on(request(t.http).post(`${page()}/issuers`)).type('form')
      .send({ _csrf: await csrf(), issuer: 'https://age.example/', audience: 'a', algorithms: 'RS256', maxTokenAgeSeconds: '10', claimGroups: 'roles' });
    expect(age.status).toBe(400);
    expect(age.text).toContain('Maximum token age (seconds) must be at least 30');
    expect(age.text).toContain('value="roles"');
    const claim = await op.on(request(t.http).post(`${page()}/issuers`)).type('form')
      .send({ _csrf: await csrf(), issuer: 'https://claim.example/', audience: 'a', algorithms: 'RS256', claimGroups: 'has space' });
    expect(claim.status).toBe(400);
    expect(claim.text).toContain('Groups claim must be a claim name or dotted path');
    expect(await issuerRows()).toHaveLength(before);
  });

  it('edits a trusted issuer in place (the same id): every field shown, a blank one the default again, refusals in the API\'s words', async () => {
    const key = await makeApiKey(t.ds);
    const created = await request(t.http).post(`/api/v1/tenants/${tenant.id}/trusted-issuers`).set('Authorization', `Bearer ${key}`)
      .send({ issuer: 'https://edit.example/', audience: 'edit-app', algorithms: ['ES256'], claimEmail: 'upn', claimGroups: 'roles', syncGroups: true, maxTokenAgeSeconds: 600 }).expect(201);
    const edit = `${page()}/issuers/${created.body.id}`;
    expect((await op.on(request(t.http).get(page()))).text).toContain(`href="${edit}"`);
    const form = await op.on(request(t.http).get(edit));
    expect(form.status).toBe(200);
    expect(form.text).toMatch(/name="claimEmail" type="text" value="upn"/);
    expect(form.text).toMatch(/name="claimGroups" type="text" value="roles"/);
    expect(form.text).toMatch(/name="maxTokenAgeSeconds" type="number" value="600"/);
    expect(form.text).toMatch(/id="issuer-alg-ES256" name="algorithms" type="checkbox" value="ES256" checked/);
    expect(form.text).toMatch(/id="issuer-syncGroups"[^>]*checked/);
    const row = async () => (await t.ds.query(
      `SELECT id, audience, algorithms, claim_email, claim_groups, max_token_age_seconds, jit_provisioning, sync_groups FROM trusted_issuers WHERE id = $1`, [created.body.id]))[0];

    const bad = await op.on(request(t.http).post(edit)).type('form')
      .send({ _csrf: csrfFieldOf(form.text), issuer: 'https://edit.example/', audience: 'edit-app', algorithms: 'ES256', maxTokenAgeSeconds: '100000' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('Maximum token age (seconds) must be at most 86400');
    expect((await row()).max_token_age_seconds).toBe(600);

    const saved = await op.on(request(t.http).post(edit)).type('form').send(
      `_csrf=${encodeURIComponent(csrfFieldOf(form.text))}&issuer=${encodeURIComponent('https://edit.example/')}&audience=edit-app-2&algorithms=ES256&algorithms=RS256&claimEmail=&claimGroups=&maxTokenAgeSeconds=120&jitProvisioning=true`,
    );
    expect(saved.status).toBe(303);
    expect(saved.headers.location).toContain('done=issuer-saved');
    expect(await row()).toEqual({ id: created.body.id, audience: 'edit-app-2', algorithms: ['ES256', 'RS256'], claim_email: 'email', claim_groups: null, max_token_age_seconds: 120, jit_provisioning: true, sync_groups: false });
    expect(await t.ds.query(`SELECT 1 FROM audit_events WHERE type = 'trusted_issuer.updated' AND tenant_id = $1`, [tenant.id])).toHaveLength(1);
    await t.ds.query(`DELETE FROM trusted_issuers WHERE id = $1`, [created.body.id]);
  });

  it('refuses a plain-http issuer in the API\'s words and stores nothing', async () => {
    const before = (await issuerRows()).length;
    const res = await op.on(request(t.http).post(`${page()}/issuers`)).type('form').send({ _csrf: await csrf(), issuer: 'http://idp.example.com/', audience: 'x', algorithms: 'RS256' });
    expect(res.status).toBe(400);
    const words = `Issuer ${issuerUrlProblem('http://idp.example.com/', false)}`;
    expect(words).not.toBe('Issuer null');
    expect(res.text).toContain(words.replace(/'/g, '&#39;'));
    // An algorithm the API refuses (symmetric) is refused with the DTO's message.
    const hs = await op.on(request(t.http).post(`${page()}/issuers`)).type('form').send({ _csrf: await csrf(), issuer: 'https://other.example/', audience: 'x', algorithms: 'HS256' });
    expect(hs.status).toBe(400);
    expect(hs.text).toContain('asymmetric only: never none or HS*');
    expect(await issuerRows()).toHaveLength(before);
  });

  it('deletes an issuer only after the confirmation page', async () => {
    const [{ id }] = await t.ds.query(`SELECT id FROM trusted_issuers WHERE tenant_id = $1`, [tenant.id]);
    const ask = await op.on(request(t.http).post(`${page()}/issuers/${id}/delete`)).type('form').send({ _csrf: await csrf() });
    expect(ask.status).toBe(200);
    expect(ask.text).toContain('Delete the trusted issuer https://acme.eu.auth0.com/');
    expect(await issuerRows()).toHaveLength(1);
    const done = await op.on(request(t.http).post(`${page()}/issuers/${id}/delete`)).type('form').send({ _csrf: csrfFieldOf(ask.text), confirm: 'yes' });
    expect(done.status).toBe(303);
    expect(await issuerRows()).toHaveLength(0);
    expect(await t.ds.query(`SELECT 1 FROM audit_events WHERE type = 'trusted_issuer.deleted' AND tenant_id = $1`, [tenant.id])).toHaveLength(1);
  });

  it('stores the provider\'s client secret sealed, never shows it back, and keeps it when the field is left blank', async () => {
    const secret = 'upstream-client-secret-XYZ-0123456789';
    const set = await op.on(request(t.http).post(`${page()}/provider`)).type('form').send({ _csrf: await csrf(), issuer: 'https://acme.okta.com', clientId: 'acme-idp', clientSecret: secret });
    expect(set.status).toBe(303);
    const read = async () => (await t.ds.query(`SELECT issuer, client_id, client_secret_enc, jit_provisioning FROM upstream_oidc_providers WHERE tenant_id = $1`, [tenant.id]))[0];
    const row = await read();
    expect(row.client_secret_enc).not.toContain(secret);
    expect(t.app.get(SecretBox).open(row.client_secret_enc, upstreamSecretContext(tenant.id))).toBe(secret);

    const shown = await op.on(request(t.http).get(page()));
    expect(shown.text).toContain('acme-idp');
    expect(shown.text).toContain('Set (stored sealed, never shown)');
    expect(shown.text).not.toContain(secret);

    // Saved again with the secret left blank: the other fields change, the secret stays.
    const again = await op.on(request(t.http).post(`${page()}/provider`)).type('form').send({ _csrf: csrfFieldOf(shown.text), issuer: 'https://acme.okta.com', clientId: 'acme-idp-2', clientSecret: '', jitProvisioning: 'true' });
    expect(again.status).toBe(303);
    const after = await read();
    expect(after).toMatchObject({ client_id: 'acme-idp-2', jit_provisioning: true });
    expect(t.app.get(SecretBox).open(after.client_secret_enc, upstreamSecretContext(tenant.id))).toBe(secret);

    // The groups claim and its sync, set through the API, are on the form: saving it again keeps them.
    await request(t.http).put(`/api/v1/tenants/${tenant.id}/oidc-provider`).set('Authorization', `Bearer ${await makeApiKey(t.ds)}`)
      .send({ issuer: 'https://acme.okta.com', clientId: 'acme-idp-2', clientSecret: secret, claimGroups: 'groups', jitProvisioning: true, syncGroups: true }).expect(200);
    const form = await op.on(request(t.http).get(page()));
    expect(form.text).toMatch(/id="provider-claimGroups" name="claimGroups" type="text" value="groups"/);
    expect(form.text).toMatch(/id="provider-syncGroups"[^>]*checked/);
    expect((await op.on(request(t.http).post(`${page()}/provider`)).type('form')
      .send({ _csrf: csrfFieldOf(form.text), issuer: 'https://acme.okta.com', clientId: 'acme-idp-2', clientSecret: '', claimGroups: 'groups', jitProvisioning: 'true', syncGroups: 'true' })).status).toBe(303);
    expect(await t.ds.query(`SELECT claim_groups, sync_groups FROM upstream_oidc_providers WHERE tenant_id = $1`, [tenant.id])).toEqual([{ claim_groups: 'groups', sync_groups: true }]);

    // A bad issuer is refused with the API's words, the stored provider untouched, the secret not echoed.
    const bad = await op.on(request(t.http).post(`${page()}/provider`)).type('form').send({ _csrf: csrfFieldOf(shown.text), issuer: 'ftp://acme', clientId: 'x', clientSecret: 'new-secret-typed' });
    expect(bad.status).toBe(400);
    expect(bad.text).not.toContain('new-secret-typed');
    expect((await read()).client_id).toBe('acme-idp-2');

    // Remove only after confirming.
    const ask = await op.on(request(t.http).post(`${page()}/provider/remove`)).type('form').send({ _csrf: csrfFieldOf(shown.text) });
    expect(ask.status).toBe(200);
    expect(ask.text).toContain('Remove company sign-in at https://acme.okta.com?');
    expect(await read()).toBeDefined();
    const gone = await op.on(request(t.http).post(`${page()}/provider/remove`)).type('form').send({ _csrf: csrfFieldOf(ask.text), confirm: 'yes' });
    expect(gone.status).toBe(303);
    expect(await read()).toBeUndefined();
  });

  it('refuses these forms without the session\'s CSRF token: nothing stored', async () => {
    const anon = new CookieJar();
    const login = anon.store(await request(t.http).get('/login'));
    const res = await request(t.http).post(`${page()}/issuers`)
      .set('Cookie', `eidp_session=${op.get('eidp_session')}; eidp_csrf=${anon.get('eidp_csrf')}`)
      .type('form').send({ _csrf: csrfFieldOf(login.text), issuer: 'https://forged.example/', audience: 'f', algorithms: 'RS256' });
    expect(res.status).toBe(400);
    expect(await t.ds.query(`SELECT 1 FROM trusted_issuers WHERE issuer = 'https://forged.example/'`)).toHaveLength(0);
  });

  it('is for operators only, as the API (global key): the tenant\'s own admin can neither see nor change it', async () => {
    const password = 'tenant admin password 01';
    const admin = await makeUser(t.ds, tenant.id, { password });
    await t.ds.query(`UPDATE users SET role = 'tenant_admin' WHERE id = $1`, [admin.id]);
    const jar = new CookieJar();
    expect((await signIn(request(t.http), jar, { tenant: tenant.slug, email: admin.email, password })).status).toBe(303);
    const own = await jar.on(request(t.http).get(`/console/tenants/${tenant.id}`));
    expect(own.status).toBe(200);
    expect(own.text).not.toContain('/sign-in"');
    expect((await jar.on(request(t.http).get(page()))).status).toBe(403);
    const [someIssuer] = await t.ds.query(`INSERT INTO trusted_issuers (tenant_id, issuer, audience) VALUES ($1, 'https://admin-edit.example/', 'x') RETURNING id`, [tenant.id]);
    expect((await jar.on(request(t.http).get(`${page()}/issuers/${someIssuer.id}`))).status).toBe(403);
    const edited = await jar.on(request(t.http).post(`${page()}/issuers/${someIssuer.id}`)).type('form').send({ _csrf: csrfFieldOf(own.text), issuer: 'https://admin-edit.example/', audience: 'mine', algorithms: 'RS256' });
    expect(edited.status).toBe(403);
    expect((await t.ds.query(`SELECT audience FROM trusted_issuers WHERE id = $1`, [someIssuer.id]))[0].audience).toBe('x');
    const res = await jar.on(request(t.http).post(`${page()}/issuers`)).type('form').send({ _csrf: csrfFieldOf(own.text), issuer: 'https://admin-own.example/', audience: 'a', algorithms: 'RS256' });
    expect(res.status).toBe(403);
    expect(res.text).toContain('Only a platform operator can do this.');
    expect(await t.ds.query(`SELECT 1 FROM trusted_issuers WHERE issuer = 'https://admin-own.example/'`)).toHaveLength(0);
  });
});
