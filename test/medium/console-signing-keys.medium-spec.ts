import request from 'supertest';
import { grantAccess, makeApiKey, makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { CookieJar, csrfFieldOf, signIn } from '../support/cookie-jar';

const OP_EMAIL = 'root@platform.example';
const OP_PASSWORD = 'operator password 0001';
const DELAY_S = 3600;

/**
 * The console for key-pair targets (Qlik Cloud, Grafana): each key a product may be given is
 * shown with its kid and PEM (Qlik takes them pasted, so the next key's PEM is needed before it
 * signs), rotation only from a confirmation page and a form carrying the CSRF token, audited as
 * through the admin API; Try it shows the claims of those products' tokens.
 */
describe('console: signing keys of key-pair targets, rotation, Try it', () => {
  let t: TestApp;
  let op: CookieJar;
  let key: string;

  beforeAll(async () => {
    t = await createTestApp({ env: { BOOTSTRAP_OPERATOR_EMAIL: OP_EMAIL, BOOTSTRAP_OPERATOR_PASSWORD: OP_PASSWORD, SIGNING_KEY_PUBLICATION_DELAY: String(DELAY_S) } });
    key = await makeApiKey(t.ds, null);
    op = new CookieJar();
    expect((await signIn(request(t.http), op, { tenant: 'operators', email: OP_EMAIL, password: OP_PASSWORD })).status).toBe(303);
  });
  afterAll(async () => {
    await t.close();
  });

  const get = async (path: string) => op.on(request(t.http).get(path));
  const api = (method: 'get' | 'post', path: string) => request(t.http)[method](`/api/v1${path}`).set('Authorization', `Bearer ${key}`);
  const create = async (body: object) => (await api('post', '/targets').send(body).expect(201)).body as { id: string; slug: string };
  const keysOf = async (id: string) => (await api('get', `/targets/${id}/keys`).expect(200)).body.items as { kid: string; state: string; publicKeyPem: string }[];
  const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const pemsOn = (page: string) => [...page.matchAll(/<textarea[^>]*>([^<]*-----BEGIN PUBLIC KEY-----[^<]*)<\/textarea>/g)].map((m) => m[1]);

  it("shows each key's kid and PEM; rotates only from the confirmation form; the next key's PEM is there before it signs", async () => {
    const target = await create({ slug: 'qlik-console', kind: 'qlik', baseUrl: 'https://acme.eu.qlikcloud.com', settings: { issuer: 'https://idp.example.com' } });
    const [first] = await keysOf(target.id);
    const page = (await get(`/console/targets/${target.id}`)).text;
    expect(page).toContain('Signing keys');
    expect(page).toContain(first.kid);
    expect(pemsOn(page)).toEqual([escape(first.publicKeyPem)]);
    // The setup guide: Qlik's identity provider JSON with the signing key's kid and PEM.
    expect(page).toContain('Identity provider (JSON)');
    expect(page).toContain(`&quot;kid&quot;: &quot;${first.kid}&quot;`);
    expect(page).toContain(`&quot;pem&quot;: &quot;${escape(first.publicKeyPem.trim()).replace(/\n/g, '\\n')}&quot;`);
    expect(page).toContain(`/targets/${target.slug}/jwks.json`);
    expect(page).not.toContain('Next key');
    expect(page).toContain(`href="/console/targets/${target.id}/keys/rotate"`);

    // A GET only asks; a POST without the form's CSRF token changes nothing.
    const ask = await get(`/console/targets/${target.id}/keys/rotate`);
    expect(ask.status).toBe(200);
    expect(ask.text).toContain('Rotate now');
    expect(ask.text).toContain(`starts signing in ${DELAY_S / 60} min`);
    const forged = await op.on(request(t.http).post(`/console/targets/${target.id}/keys/rotate`)).type('form').send({});
    expect(forged.status).toBe(400);
    expect(await keysOf(target.id)).toHaveLength(1);

    const done = await op.on(request(t.http).post(`/console/targets/${target.id}/keys/rotate`)).type('form').send({ _csrf: csrfFieldOf(ask.text) });
    expect(done.status).toBe(303);
    const keys = await keysOf(target.id);
    const next = keys.find((k) => k.state === 'next')!;
    expect(keys.map((k) => k.state).sort()).toEqual(['active', 'next']);
    const [audit] = await t.ds.query(`SELECT details FROM audit_events WHERE type = 'target.key_rotated' AND details->>'kid' = $1`, [next.kid]);
    expect(audit).toBeDefined();

    // Both keys, each with its kid and PEM: Qlik needs the next one pasted before it signs.
    const after = (await get(done.headers.location)).text;
    expect(after).toContain('New signing key published');
    expect(after).toContain(next.kid);
    expect(pemsOn(after).sort()).toEqual([escape(first.publicKeyPem), escape(next.publicKeyPem)].sort());
    // Qlik holds one key: the guide still gives the signing one, and the next one to swap in when it signs.
    expect(after).toContain(`&quot;kid&quot;: &quot;${first.kid}&quot;`);
    expect(after).toContain('Next key');
    expect(after).toContain(`&quot;kid&quot;: &quot;${next.kid}&quot;`);

    // While that key waits, another rotation is not offered, and a POST is a 409 that changes nothing.
    const again = await get(`/console/targets/${target.id}/keys/rotate`);
    expect(again.text).toContain('A rotation is under way');
    expect(again.text).not.toContain('Rotate now');
    const refused = await op.on(request(t.http).post(`/console/targets/${target.id}/keys/rotate`)).type('form').send({ _csrf: csrfFieldOf(after) });
    expect(refused.status).toBe(409);
    expect(await keysOf(target.id)).toHaveLength(2);
  });

  it('Try it shows the claims of a Qlik and a Grafana token (nothing signed, nothing recorded)', async () => {
    const tenant = await makeTenant(t.ds);
    await makeUser(t.ds, tenant.id, { email: 'ada@acme.example', firstName: 'Ada', lastName: 'Lovelace', groups: ['analysts'] });
    const qlik = await create({ slug: 'qlik-try', kind: 'qlik', baseUrl: 'https://acme.eu.qlikcloud.com', settings: { issuer: 'https://idp.example.com' } });
    const grafana = await create({ slug: 'grafana-try', kind: 'grafana', baseUrl: 'https://grafana.example.com', settings: { alg: 'ES256' } });
    await grantAccess(t.ds, tenant.id, qlik.id, { groupMappings: { analysts: ['Qlik Analysts'] } });
    await grantAccess(t.ds, tenant.id, grafana.id, { groupMappings: { analysts: ['Editor'] } });
    const tokens = async () => Number((await t.ds.query(`SELECT count(*) AS n FROM issued_tokens`))[0].n);
    const before = await tokens();

    const q = await get(`/console/tenants/${tenant.id}/access/${qlik.id}/try?email=ada@acme.example`);
    expect(q.status).toBe(200);
    for (const s of ['&quot;aud&quot;: &quot;qlik.api/login/jwt-session&quot;', '&quot;subType&quot;: &quot;user&quot;', '&quot;email_verified&quot;: true', '&quot;Qlik Analysts&quot;', '&quot;iss&quot;: &quot;https://idp.example.com&quot;']) {
      expect(q.text).toContain(s);
    }
    const g = await get(`/console/tenants/${tenant.id}/access/${grafana.id}/try?email=ada@acme.example`);
    expect(g.status).toBe(200);
    for (const s of ['&quot;role&quot;: &quot;Editor&quot;', '&quot;aud&quot;: &quot;https://grafana.example.com&quot;', '&quot;login&quot;: &quot;ada@acme.example&quot;']) {
      expect(g.text).toContain(s);
    }
    expect(await tokens()).toBe(before);
  });
});
