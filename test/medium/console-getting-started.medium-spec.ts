import request from 'supertest';
import { AuditService } from '../../src/audit/audit.service';
import { grantAccess, makeTarget, makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { CookieJar, signIn } from '../support/cookie-jar';

const OP_EMAIL = 'root@platform.example';
const OP_PASSWORD = 'operator password 0001';

/**
 * An empty console shows the way to a first sign-in (target, tenant, user, grant, Try it), each
 * step ticked from what exists, and the checklist goes once every step is done.
 */
describe('console: getting-started checklist', () => {
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

  const overview = async () => (await op.on(request(t.http).get('/console')).expect(200)).text;
  const ticks = (page: string) => [...page.matchAll(/<li class="(done|todo)">/g)].map((m) => m[1]);

  it('ticks each step as what it makes exists, links the last to the first grant, and goes away when all are done', async () => {
    // The operators' own tenant and operator do not count as a customer's.
    let page = await overview();
    expect(page).toContain('Getting started');
    expect(page).toContain('0 of 5 done');
    expect(ticks(page)).toEqual(['todo', 'todo', 'todo', 'todo', 'todo']);
    expect(page).toContain('href="/console/targets/new"');

    const target = await makeTarget(t, { kind: 'metabase', baseUrl: 'https://metabase.example.com', secret: 'a'.repeat(64) });
    expect(ticks(await overview())).toEqual(['done', 'todo', 'todo', 'todo', 'todo']);
    const tenant = await makeTenant(t.ds);
    expect(ticks(await overview())).toEqual(['done', 'done', 'todo', 'todo', 'todo']);
    await makeUser(t.ds, tenant.id);
    expect(ticks(await overview())).toEqual(['done', 'done', 'done', 'todo', 'todo']);
    await grantAccess(t.ds, tenant.id, target.id);
    page = await overview();
    expect(ticks(page)).toEqual(['done', 'done', 'done', 'done', 'todo']);
    expect(page).toContain(`href="/console/tenants/${tenant.id}/access/${target.id}/try"`);

    // A first token issued: every step done, the overview shows only its figures.
    await t.app.get(AuditService).record({ ip: null, actor: 'system', requestId: null } as never, { type: 'sso.token_issued', tenantId: tenant.id, details: { target: target.slug } });
    page = await overview();
    expect(page).not.toContain('Getting started');
    expect(page).toContain('class="stats"');
  });
});
