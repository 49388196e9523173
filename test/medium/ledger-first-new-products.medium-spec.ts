import request from 'supertest';
import { SessionsService } from '../../src/auth/sessions.service';
import { grantAccess, makeApiKey, makeTarget, makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';

/**
 * No record, no token: for every product whose token the host page or the browser carries
 * (Tableau, Qlik Cloud, Sigma) and for Grafana's sign-in redirect, a token whose ledger row
 * cannot be written never leaves — no JWT in the body or the Location, no audit event left
 * behind — and the answer is an error, not a half-done success. The same request works once
 * the write does.
 */
describe('tokens of the newer products are recorded before they leave', () => {
  let t: TestApp;
  let cookie: string;
  const targets: Record<string, { id: string; slug: string }> = {};

  const count = async (sql: string, params: unknown[] = []) => Number((await t.ds.query(sql, params))[0].n);

  beforeAll(async () => {
    t = await createTestApp();
    const key = await makeApiKey(t.ds, null);
    const tenant = await makeTenant(t.ds);
    const user = await makeUser(t.ds, tenant.id, { email: 'ada@acme.example', firstName: 'Ada', lastName: 'Lovelace', groups: ['analysts'] });
    cookie = `eidp_session=${(await t.app.get(SessionsService).create({ id: user.id, tenantId: tenant.id }, { ip: null, userAgent: 'jest' })).token}`;
    targets.tableau = await makeTarget(t, { kind: 'tableau', baseUrl: 'https://tableau.example.com', secret: 'tableau-connected-app-secret-value-0123456789', settings: { clientId: 'client-1', secretId: 'secret-1' } });
    targets.sigma = await makeTarget(t, { kind: 'sigma', baseUrl: 'https://app.sigmacomputing.com', secret: 'sigma-embed-secret-0123456789abcdef0123456789abcdef', settings: { clientId: 'client-1', organization: 'acme' } });
    for (const [kind, settings] of [['qlik', { issuer: 'https://idp.example.com', alg: 'ES256' }], ['grafana', { alg: 'ES256' }]] as const) {
      const slug = `${kind}-ledger`;
      const created = await request(t.http).post('/api/v1/targets').set('Authorization', `Bearer ${key}`).send({ slug, kind, baseUrl: `https://${kind}.example.com`, settings }).expect(201);
      targets[kind] = { id: created.body.id, slug };
    }
    for (const target of Object.values(targets)) await grantAccess(t.ds, tenant.id, target.id, { groupMappings: { analysts: ['Analysts', 'Viewer'] } });
  });
  afterAll(async () => {
    await t?.close();
  });

  const paths: [string, string, number][] = [
    ['tableau', '/embed/{slug}/token', 200],
    ['qlik', '/embed/{slug}/token', 200],
    ['sigma', '/embed/{slug}/workbook/Sales-1a2b', 302],
    ['sigma', '/embed/{slug}/workbook/Sales-1a2b?response=json', 200],
    ['grafana', '/sso/{slug}?return_to=/d/abc', 302],
  ];

  it.each(paths)('%s %s: nothing leaves when the ledger refuses the write; the same request works once it takes it', async (kind, pattern, ok) => {
    const target = targets[kind];
    const path = pattern.replace('{slug}', target.slug);
    const events = () => count(`SELECT count(*) AS n FROM audit_events WHERE type IN ('token.issued', 'sso.token_issued') AND details->>'target' = $1`, [target.slug]);
    const before = await events();
    await t.ds.query(`CREATE FUNCTION refuse_tokens() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'simulated write failure'; END $$`);
    await t.ds.query(`CREATE TRIGGER refuse_tokens BEFORE INSERT ON issued_tokens FOR EACH ROW EXECUTE FUNCTION refuse_tokens()`);
    try {
      const res = await request(t.http).get(path).set('Cookie', cookie);
      expect(res.status).toBe(500);
      expect(res.headers.location).toBeUndefined();
      expect(res.text).not.toMatch(/eyJ/);
      expect(res.text).not.toContain('simulated');
    } finally {
      await t.ds.query(`DROP TRIGGER refuse_tokens ON issued_tokens`);
      await t.ds.query(`DROP FUNCTION refuse_tokens()`);
    }
    expect(await events()).toBe(before);
    expect(await count(`SELECT count(*) AS n FROM issued_tokens WHERE target_id = $1`, [target.id])).toBe(0);

    const res = await request(t.http).get(path).set('Cookie', cookie);
    expect(res.status).toBe(ok);
    expect(`${res.headers.location ?? ''}${res.text}`).toMatch(/eyJ/);
    expect(await events()).toBe(before + 1);
    // Counted for the next case of the same target.
    await t.ds.query(`DELETE FROM issued_tokens WHERE target_id = $1`, [target.id]);
  });
});
