import request from 'supertest';
import { AuditService } from '../../src/audit/audit.service';
import { AuditStreamsService } from '../../src/streams/audit-streams.service';
import { makeTenant } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { CookieJar, csrfFieldOf, signIn } from '../support/cookie-jar';

const OP_EMAIL = 'root@platform.example';
const OP_PASSWORD = 'operator password 0001';

/** The console's audit download and audit streams page (health, failures, replay). */
describe('console: audit download and streams', () => {
  let t: TestApp;
  let op: CookieJar;
  let tenant: { id: string; slug: string };

  beforeAll(async () => {
    t = await createTestApp({ env: { BOOTSTRAP_OPERATOR_EMAIL: OP_EMAIL, BOOTSTRAP_OPERATOR_PASSWORD: OP_PASSWORD } });
    op = new CookieJar();
    expect((await signIn(request(t.http), op, { tenant: 'operators', email: OP_EMAIL, password: OP_PASSWORD })).status).toBe(303);
    tenant = await makeTenant(t.ds);
  });
  afterAll(async () => {
    await t.close();
  });

  it('downloads every event the filters select as CSV, and refuses bad filters on the page', async () => {
    const audit = t.app.get(AuditService);
    for (let i = 0; i < 3; i++) await audit.record({ actor: 'system', ip: null, requestId: null }, { type: 'console.export_test', tenantId: tenant.id, details: { i } });
    const page = await op.on(request(t.http).get('/console/audit?type=console.export_test'));
    expect(page.status).toBe(200);
    expect(page.text).toContain('/console/audit/export?type=console.export_test&amp;format=csv');
    const csv = await op.on(request(t.http).get('/console/audit/export?type=console.export_test&format=csv'));
    expect(csv.status).toBe(200);
    expect(csv.headers['content-disposition']).toMatch(/^attachment; filename="audit-events-.*\.csv"$/);
    expect(csv.text.trim().split('\r\n')).toHaveLength(4);
    const bad = await op.on(request(t.http).get('/console/audit/export?from=2026-02-01T00:00&to=2026-01-01T00:00'));
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('To must not be earlier than From');
    expect((await request(t.http).get('/console/audit/export')).status).toBe(303);
  });

  it('shows each stream with its health and failures, and replays a range', async () => {
    const streams = t.app.get(AuditStreamsService);
    const { stream } = await streams.create({ tenantId: tenant.id, name: 'Acme <SIEM>', url: 'http://127.0.0.1:9/hook', eventTypes: ['console.replay_test'] });
    await streams.setEnabled(stream.id, false);
    const audit = t.app.get(AuditService);
    await t.ds.query(`UPDATE audit_streams SET last_failure_at = now(), last_error = 'the receiver answered 500' WHERE id = $1`, [stream.id]);
    const page = await op.on(request(t.http).get('/console/audit-streams'));
    expect(page.status).toBe(200);
    expect(page.text).toContain('Acme &lt;SIEM&gt;');
    expect(page.text).toContain('the receiver answered 500');

    await audit.record({ actor: 'system', ip: null, requestId: null }, { type: 'console.replay_test', tenantId: tenant.id });
    const from = new Date(Date.now() - 3600_000).toISOString().slice(0, 16);
    const to = new Date(Date.now() + 3600_000).toISOString().slice(0, 16);
    const form = csrfFieldOf(page.text);
    const replay = await op.on(request(t.http).post(`/console/audit-streams/${stream.id}/replay`).type('form').send({ _csrf: form, from, to }));
    expect(replay.status).toBe(303);
    expect(replay.headers.location).toContain('done=stream-replayed');
    // A disabled stream queues nothing as events happen: the one delivery is the replay's.
    expect(await t.ds.query(`SELECT count(*)::int AS n FROM audit_stream_deliveries WHERE stream_id = $1`, [stream.id])).toEqual([{ n: 1 }]);
    const wrong = await op.on(request(t.http).post(`/console/audit-streams/${stream.id}/replay`).type('form').send({ _csrf: form, from: to, to: from }));
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain('To must not be earlier than From');
  });
  it('edits a stream, turns it on and off, and rotates its secret (shown once, both signing meanwhile); audited', async () => {
    const streams = t.app.get(AuditStreamsService);
    const { stream, secret } = await streams.create({ tenantId: tenant.id, name: 'edit me', url: 'http://127.0.0.1:9/hook', eventTypes: [] });
    const page = await op.on(request(t.http).get('/console/audit-streams'));
    const _csrf = csrfFieldOf(page.text);
    const post = (path: string, body: object) => op.on(request(t.http).post(`/console/audit-streams/${stream.id}/${path}`).type('form').send({ _csrf, ...body }));

    const bad = await post('edit', { name: 'edit me', url: 'ftp://x.example/hook', eventTypes: '' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('must be https');
    const badType = await post('edit', { name: 'edit me', url: 'http://127.0.0.1:9/hook', eventTypes: 'Login Failure' });
    expect(badType.status).toBe(400);
    expect(badType.text).toContain('Event types must be event types');
    const ok = await post('edit', { name: 'edited', url: 'http://127.0.0.1:10/hook', eventTypes: 'login.failure, sso.denied' });
    expect(ok.status).toBe(303);
    expect(await streams.find(stream.id)).toMatchObject({ name: 'edited', url: 'http://127.0.0.1:10/hook', eventTypes: ['login.failure', 'sso.denied'] });

    expect((await post('enabled', { enabled: 'false' })).headers.location).toContain('done=stream-disabled');
    expect((await streams.find(stream.id))!.enabled).toBe(false);

    expect((await post('rotate-secret', { graceHours: '999' })).status).toBe(400);
    const rotated = await post('rotate-secret', { graceHours: '2' });
    expect(rotated.status).toBe(200);
    const shown = /<code>(whsec_[A-Za-z0-9+/=]+)<\/code>/.exec(rotated.text)?.[1];
    expect(shown).toBeDefined();
    expect(shown).not.toBe(secret);
    const both = await streams.secretsOf(stream.id);
    expect(both).toEqual({ secret: shown, previous: secret });
    // Shown once: the page afterwards does not carry it.
    expect((await op.on(request(t.http).get('/console/audit-streams'))).text).not.toContain(shown!);
    const types = (await t.ds.query(`SELECT type FROM audit_events WHERE details->>'streamId' = $1 ORDER BY id`, [stream.id])).map((r: { type: string }) => r.type);
    expect(types).toEqual(['audit_stream.updated', 'audit_stream.updated', 'audit_stream.secret_rotated']);
  });
});
