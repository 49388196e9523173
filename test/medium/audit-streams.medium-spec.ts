import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import request from 'supertest';
import { AuditService } from '../../src/audit/audit.service';
import { AuditStreamPruner, OUTBOX_PRUNE_LOCK } from '../../src/streams/audit-stream-pruner';
import { AuditStreamWorker, BATCH_SIZE, FALLBACK_POLL_MS } from '../../src/streams/audit-stream-worker';
import { makeApiKey, makeTenant } from '../factories';
import { createTestApp, TestApp } from '../setup/app';

interface Received {
  headers: Record<string, string>;
  body: string;
  status: number;
}

/** A webhook receiver on loopback answering `answer(n)` to its n-th request (1-based). */
async function receiver(answer: (n: number) => number = () => 204) {
  const got: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const status = answer(got.length + 1);
      got.push({ headers: req.headers as Record<string, string>, body, status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    got,
    delivered: () => got.filter((g) => g.status < 300).map((g) => JSON.parse(g.body)),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('audit streams (Standard Webhooks)', () => {
  let t: TestApp;
  let globalKey: string;
  let tenantA: { id: string; slug: string };
  let tenantB: { id: string; slug: string };
  let keyA: string;
  let audit: AuditService;
  let clock: NodeJS.Timeout;
  let worker: AuditStreamWorker;
  const meta = { actor: 'system', ip: '192.0.2.1', requestId: null };
  const receivers: { close(): Promise<void> }[] = [];

  const api = (key: string) => ({
    post: (path: string, body: object) => request(t.http).post(`/api/v1/audit-streams${path}`).set('Authorization', `Bearer ${key}`).send(body),
    get: (path: string) => request(t.http).get(`/api/v1/audit-streams${path}`).set('Authorization', `Bearer ${key}`),
    patch: (path: string, body: object) => request(t.http).patch(`/api/v1/audit-streams${path}`).set('Authorization', `Bearer ${key}`).send(body),
    del: (path: string) => request(t.http).delete(`/api/v1/audit-streams${path}`).set('Authorization', `Bearer ${key}`),
  });
  const stream = async (key: string, url: string, extra: object = {}) => {
    const res = await api(key).post('', { name: 'siem', url, ...extra });
    expect(res.status).toBe(201);
    return res.body as { id: string; secret: string; tenantId: string | null };
  };
  const newReceiver = async (answer?: (n: number) => number) => {
    const r = await receiver(answer);
    receivers.push(r);
    return r;
  };

  beforeAll(async () => {
    t = await createTestApp();
    globalKey = await makeApiKey(t.ds, null);
    tenantA = await makeTenant(t.ds);
    tenantB = await makeTenant(t.ds);
    keyA = await makeApiKey(t.ds, tenantA.id);
    audit = t.app.get(AuditService);
    worker = t.app.get(AuditStreamWorker);
    // Time passes quickly here: a delivery waiting for its retry is due at once.
    // (The worker's own timer would wake it at the real due time: the clock wakes it itself.)
    clock = setInterval(
      () =>
        void t.ds
          .query(`WITH due AS (UPDATE audit_stream_deliveries SET next_attempt_at = now() WHERE status = 'pending' AND next_attempt_at > now() RETURNING 1) SELECT count(*)::int AS n FROM due`)
          .then(([{ n }]: { n: number }[]) => n && worker.wake())
          .catch(() => undefined),
      100,
    );
  });
  afterAll(async () => {
    clearInterval(clock);
    await t.close();
    for (const r of receivers) await r.close();
  });
  afterEach(async () => {
    // Each test's streams only: the next test's receivers start from nothing.
    await t.ds.query(`DELETE FROM audit_streams`);
  });

  it('a receiver failing the first 5 attempts still gets the event: same webhook-id each time, a signature the verifier accepts', async () => {
    const r = await newReceiver((n) => (n <= 5 ? 503 : 200));
    const s = await stream(globalKey, r.url, { eventTypes: ['login.failure'] });
    expect(s.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    await audit.record(meta, { type: 'login.failure', tenantId: tenantA.id, details: { reason: 'bad_password' } });
    const [{ id: eventId }] = await t.ds.query(`SELECT id FROM audit_events WHERE type = 'login.failure' ORDER BY id DESC LIMIT 1`);

    await until('the 6th attempt', () => r.got.length >= 6);
    expect(r.got.map((g) => g.status)).toEqual([503, 503, 503, 503, 503, 200]);
    expect(new Set(r.got.map((g) => g.headers['webhook-id']))).toEqual(new Set([`msg_${eventId}`]));
    const wh = new Webhook(s.secret);
    for (const g of r.got) {
      expect(wh.verify(g.body, g.headers)).toMatchObject({ type: 'login.failure', data: { id: String(eventId), tenantId: tenantA.id, details: { reason: 'bad_password' } } });
    }
    // The verifier is not a rubber stamp: another body, or another secret, is refused.
    expect(() => wh.verify(r.got[5].body.replace('bad_password', 'good_password'), r.got[5].headers)).toThrow();
    expect(() => new Webhook(`whsec_${Buffer.alloc(32, 7).toString('base64')}`).verify(r.got[5].body, r.got[5].headers)).toThrow();

    const detail = await api(globalKey).get(`/${s.id}`).expect(200);
    expect(detail.body.health).toMatchObject({ delivered: 1, pending: 0, failed: 0 });
    expect(detail.body.lastError).toBe('the receiver answered 503');
    expect(detail.body.secret).toBeUndefined();
    // Sealed at rest.
    const [{ secret_enc }] = await t.ds.query(`SELECT secret_enc FROM audit_streams WHERE id = $1`, [s.id]);
    expect(secret_enc).not.toContain(s.secret.slice(6, 20));
  });

  it("a tenant's destination never receives another tenant's events; a global one gets all, each in order", async () => {
    const [ra, rb, rg] = [await newReceiver(), await newReceiver(), await newReceiver()];
    // (Creating a stream is itself an audit event: these streams take the test's types only.)
    const eventTypes = ['test.event', 'test.batch'];
    await stream(keyA, ra.url, { eventTypes });
    await stream(globalKey, rb.url, { tenantId: tenantB.slug, eventTypes });
    await stream(globalKey, rg.url, { eventTypes });
    // A tenant-scoped key cannot aim at another tenant.
    expect((await api(keyA).post('', { name: 'x', url: ra.url, tenantId: tenantB.id })).status).toBe(404);

    const before = Number((await t.ds.query(`SELECT coalesce(max(id), 0) AS m FROM audit_events`))[0].m);
    for (let i = 0; i < 10; i++) {
      await audit.record(meta, { type: 'test.event', tenantId: [tenantA.id, tenantB.id, null][i % 3], details: { i } });
    }
    // Several events in one statement, as the SSO hot path writes them.
    await t.ds.query(
      `INSERT INTO audit_events (type, actor, tenant_id, details) SELECT 'test.batch', 'system', t, '{}' FROM unnest($1::uuid[]) t`,
      [[tenantA.id, tenantB.id, tenantA.id, tenantB.id]],
    );
    const all = await t.ds.query(`SELECT id::text AS id, tenant_id FROM audit_events e WHERE e.id > $1 ORDER BY e.id`, [before]);
    expect(all).toHaveLength(14);
    // A: events 0, 3, 6, 9 and two of the batch; B: 1, 4, 7 and two; global: all 14.
    await until('every delivery', () => rg.delivered().length >= 14 && ra.delivered().length >= 6 && rb.delivered().length >= 5);
    await new Promise((r) => setTimeout(r, 500));
    expect(rg.delivered().map((e) => e.data.id)).toEqual(all.map((e: { id: string }) => e.id));
    expect(ra.delivered().map((e) => e.data.id)).toEqual(all.filter((e: { tenant_id: string }) => e.tenant_id === tenantA.id).map((e: { id: string }) => e.id));
    expect(rb.delivered().map((e) => e.data.id)).toEqual(all.filter((e: { tenant_id: string }) => e.tenant_id === tenantB.id).map((e: { id: string }) => e.id));

    // Each key sees its own streams only.
    expect((await api(keyA).get('').expect(200)).body.items.map((s: { tenantId: string }) => s.tenantId)).toEqual([tenantA.id]);
    const bStream = (await api(globalKey).get('').expect(200)).body.items.find((s: { tenantId: string }) => s.tenantId === tenantB.id);
    expect((await api(keyA).get(`/${bStream.id}`)).status).toBe(404);
    expect((await api(keyA).del(`/${bStream.id}`)).status).toBe(404);
  });

  it('marks a delivery failed after 3 days of failures; replay sends a range again, same webhook-id', async () => {
    let failing = true;
    const r = await newReceiver(() => (failing ? 500 : 200));
    const s = await stream(globalKey, r.url, { eventTypes: ['test.replay'] });
    await audit.record(meta, { type: 'test.other', tenantId: tenantA.id });
    await audit.record(meta, { type: 'test.replay', tenantId: tenantA.id });
    await until('a first failure', () => r.got.length >= 1);
    await t.ds.query(`UPDATE audit_stream_deliveries SET created_at = now() - interval '3 days 1 minute' WHERE stream_id = $1`, [s.id]);
    await until('the delivery to fail', async () => (await api(globalKey).get(`/${s.id}`)).body.health.failed === 1);
    const detail = (await api(globalKey).get(`/${s.id}`).expect(200)).body;
    expect(detail.failures).toHaveLength(1);
    expect(detail.failures[0].lastError).toBe('the receiver answered 500');
    const id = r.got[0].headers['webhook-id'];
    expect(r.got.every((g) => JSON.parse(g.body).type === 'test.replay')).toBe(true);

    failing = false;
    const bad = await api(globalKey).post(`/${s.id}/replay`, { from: '2030-01-01', to: '2020-01-01' });
    expect(bad.status).toBe(400);
    const replay = await api(globalKey).post(`/${s.id}/replay`, { from: new Date(Date.now() - 3600_000).toISOString(), to: new Date(Date.now() + 60_000).toISOString() }).expect(200);
    expect(replay.body).toEqual({ queued: 1 });
    await until('the replay', () => r.delivered().length === 1);
    expect(r.got[r.got.length - 1].headers['webhook-id']).toBe(id);
  });

  it('prunes the outbox: delivered rows a day after delivery, failed ones past retention; pending rows stay; one process at a time', async () => {
    // Disabled: the workers leave these rows as written.
    const r = await newReceiver();
    const s = await stream(globalKey, r.url, { eventTypes: ['test.prune'] });
    await t.ds.query(`UPDATE audit_streams SET enabled = false WHERE id = $1`, [s.id]);
    const row = (status: string, eventAgeDays: number, deliveredAgeHours: number | null) =>
      t.ds.query(
        `INSERT INTO audit_stream_deliveries (stream_id, event_id, event_at, status, delivered_at)
         VALUES ($1, 1, now() - make_interval(days => $2), $3, now() - make_interval(hours => $4)) RETURNING id::text AS id`,
        [s.id, eventAgeDays, status, deliveredAgeHours],
      ).then((rows: { id: string }[]) => rows[0].id);
    const oldDelivered = await row('delivered', 3, 25);
    const newDelivered = await row('delivered', 1, 23);
    const oldFailed = await row('failed', 401, null);
    const newFailed = await row('failed', 30, null);
    const oldPending = await row('pending', 500, null);
    const pending = await row('pending', 0, null);
    // Many delivered rows: several batches, none left behind.
    await t.ds.query(
      `INSERT INTO audit_stream_deliveries (stream_id, event_id, event_at, status, delivered_at)
       SELECT $1, g, now() - interval '2 days', 'delivered', now() - interval '2 days' FROM generate_series(1, 12000) g`,
      [s.id],
    );
    const ids = async () => (await t.ds.query(`SELECT id::text AS id FROM audit_stream_deliveries WHERE stream_id = $1 ORDER BY id`, [s.id])).map((x: { id: string }) => x.id);
    const pruner = t.app.get(AuditStreamPruner);

    // Another process pruning (holding the lock): this one skips the run and deletes nothing.
    const other = t.ds.createQueryRunner();
    await other.connect();
    await other.query(`SELECT pg_advisory_lock($1)`, [OUTBOX_PRUNE_LOCK]);
    expect(await pruner.prune()).toBeNull();
    await other.query(`SELECT pg_advisory_unlock($1)`, [OUTBOX_PRUNE_LOCK]);
    await other.release();
    expect(await ids()).toHaveLength(12006);

    expect(await pruner.prune()).toBe(12002);
    expect(await ids()).toEqual([newDelivered, newFailed, oldPending, pending]);
    expect(await ids()).not.toContain(oldDelivered);
    expect(await ids()).not.toContain(oldFailed);
    expect(await pruner.prune()).toBe(0);
  });

  it('with no enabled stream, a commit costs no look at the streams (the poll still looks)', async () => {
    const enabled: { id: string }[] = await t.ds.query(`SELECT id FROM audit_streams WHERE enabled`);
    await t.ds.query(`UPDATE audit_streams SET enabled = false`);
    worker.pollMs = 60_000;
    try {
      worker.wake();
      await until('a look that finds no stream', async () => {
        const before = worker.looks;
        await new Promise((res) => setTimeout(res, 50));
        return worker.looks === before;
      }, 5_000);
      const looks = worker.looks;
      for (let i = 0; i < 5; i++) {
        await audit.record(meta, { type: 'test.no_stream', tenantId: null, details: { i } });
        await new Promise((res) => setTimeout(res, 30));
      }
      expect(worker.looks).toBe(looks);
      // Enabled again (as by another process): the next look finds it, and commits wake again.
      if (enabled.length) await t.ds.query(`UPDATE audit_streams SET enabled = true WHERE id = ANY($1::uuid[])`, [enabled.map((r) => r.id)]);
      else await stream(globalKey, (await newReceiver()).url, { eventTypes: ['test.none'] });
      worker.wake();
      await until('a look that finds the stream', () => worker.looks > looks, 5_000);
      const after = worker.looks;
      await audit.record(meta, { type: 'test.no_stream', tenantId: null, details: { i: 5 } });
      await until('a look after the commit', () => worker.looks > after, 2_000);
    } finally {
      worker.pollMs = FALLBACK_POLL_MS;
      worker.wake();
    }
  });

  it('an idle worker wakes when this process commits an event, not at its poll; an event another process wrote is found by the poll', async () => {
    const r = await newReceiver();
    await stream(globalKey, r.url, { eventTypes: ['test.wake'] });
    // Nothing notifies from Postgres any more: no LISTEN connection, no trigger.
    const [{ n }] = await t.ds.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query ILIKE 'LISTEN%'`);
    expect(n).toBe(0);
    const [{ triggers }] = await t.ds.query(`SELECT count(*)::int AS triggers FROM pg_trigger WHERE tgname = 'audit_stream_deliveries_notify'`);
    expect(triggers).toBe(0);
    // A poll a minute apart: only the in-process wake-up can deliver within a second.
    worker.pollMs = 60_000;
    worker.wake();
    try {
      for (let i = 1; i <= 3; i++) {
        await new Promise((res) => setTimeout(res, 300));
        const at = Date.now();
        await audit.record(meta, { type: 'test.wake', tenantId: null, details: { i } });
        await until(`event ${i}`, () => r.delivered().length === i, 5_000);
        expect(Date.now() - at).toBeLessThan(1_000);
      }
      // Written by "another process" (straight into the table: no wake-up here): the poll finds it.
      worker.pollMs = FALLBACK_POLL_MS;
      worker.wake();
      await new Promise((res) => setTimeout(res, 300));
      await t.ds.query(`INSERT INTO audit_events (type, actor, details) VALUES ('test.wake', 'system', '{"i":4}')`);
      await until('event 4', () => r.delivered().length === 4, FALLBACK_POLL_MS + 2_000);
    } finally {
      worker.pollMs = FALLBACK_POLL_MS;
      worker.wake();
    }
  });

  it('several senders at once (as several processes): every event of a long queue exactly once, in order', async () => {
    const r = await newReceiver();
    const s = await stream(globalKey, r.url, { eventTypes: ['test.many'] });
    // A backlog several batches long, in one statement.
    const total = BATCH_SIZE * 2 + 37;
    const ids: string[] = (
      await t.ds.query(
        `INSERT INTO audit_events (type, actor, tenant_id, details) SELECT 'test.many', 'system', $1::uuid, jsonb_build_object('i', g) FROM generate_series(1, $2::int) g RETURNING id::text AS id`,
        [tenantA.id, total],
      )
    ).map((x: { id: string }) => x.id);
    // Four more senders racing the worker, each on its own connection, as other processes would.
    const end = Date.now() + 30_000;
    const racers = Array.from({ length: 4 }, async () => {
      while (r.delivered().length < total && Date.now() < end) if (!(await worker.deliverBatch(s.id))) await new Promise((res) => setTimeout(res, 5));
    });
    worker.wake();
    await Promise.all(racers);
    await new Promise((res) => setTimeout(res, 300));
    expect(r.delivered().map((e) => e.data.id)).toEqual(ids.sort((a, b) => Number(a) - Number(b)));
    expect(r.got).toHaveLength(total);
    const [h] = await t.ds.query(`SELECT count(*) FILTER (WHERE status = 'delivered')::int AS delivered, count(*)::int AS n FROM audit_stream_deliveries WHERE stream_id = $1`, [s.id]);
    expect(h).toEqual({ delivered: total, n: total });
  });

  it('edits a destination (URL, event types, enabled) and rotates its secret: both sign during the grace period, then the new one only; audited', async () => {
    const [r1, r2] = [await newReceiver(), await newReceiver()];
    const s = await stream(keyA, r1.url, { eventTypes: ['test.rotate'] });
    const event = async (i: number) => {
      await audit.record(meta, { type: 'test.rotate', tenantId: tenantA.id, details: { i } });
    };
    await event(1);
    await until('event 1', () => r1.delivered().length === 1);

    // Edit: another URL, more types; a bad URL and another tenant's key change nothing.
    expect((await api(keyA).patch(`/${s.id}`, { url: 'ftp://siem.example.com/x' })).body.message).toContain('url: must be https');
    expect((await api(keyA).patch(`/${s.id}`, { enabled: 'yes' })).status).toBe(400);
    const keyB = await makeApiKey(t.ds, tenantB.id);
    expect((await api(keyB).patch(`/${s.id}`, { url: r2.url })).status).toBe(404);
    const edited = await api(keyA).patch(`/${s.id}`, { url: r2.url, eventTypes: ['test.rotate', 'test.other'] }).expect(200);
    expect(edited.body).toMatchObject({ url: r2.url, eventTypes: ['test.rotate', 'test.other'], enabled: true, previousSecretUntil: null });
    const [updated] = await t.ds.query(`SELECT details FROM audit_events WHERE type = 'audit_stream.updated' ORDER BY id DESC LIMIT 1`);
    expect(updated.details).toMatchObject({ streamId: s.id, changed: ['url', 'eventTypes'], url: r2.url });

    // Rotate with a grace period: each delivery carries two signatures, each secret verifies it.
    expect((await api(keyA).post(`/${s.id}/rotate-secret`, { secret: 'hunter2' })).status).toBe(400);
    expect((await api(keyA).post(`/${s.id}/rotate-secret`, { graceHours: 1000 })).status).toBe(400);
    const rotated = await api(keyA).post(`/${s.id}/rotate-secret`, { graceHours: 1 }).expect(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(s.secret);
    expect(new Date(rotated.body.previousSecretUntil).getTime()).toBeGreaterThan(Date.now() + 3500_000);
    expect((await api(keyA).get(`/${s.id}`).expect(200)).body.previousSecretUntil).toBe(rotated.body.previousSecretUntil);
    await event(2);
    await until('event 2', () => r2.delivered().length === 1);
    const during = r2.got[r2.got.length - 1];
    expect(during.headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(new Webhook(s.secret).verify(during.body, during.headers)).toMatchObject({ data: { details: { i: 2 } } });
    expect(new Webhook(rotated.body.secret).verify(during.body, during.headers)).toMatchObject({ data: { details: { i: 2 } } });
    // Sealed at rest, both.
    const [row] = await t.ds.query(`SELECT secret_enc, previous_secret_enc FROM audit_streams WHERE id = $1`, [s.id]);
    expect(row.secret_enc).not.toContain(rotated.body.secret.slice(6, 20));
    expect(row.previous_secret_enc).not.toContain(s.secret.slice(6, 20));

    // Once the grace period is over (here: a rotation without one), the old secret no longer verifies.
    const again = await api(keyA).post(`/${s.id}/rotate-secret`, { graceHours: 0 }).expect(200);
    expect(again.body.previousSecretUntil).toBeNull();
    await event(3);
    await until('event 3', () => r2.delivered().length === 2);
    const after = r2.got[r2.got.length - 1];
    expect(after.headers['webhook-signature'].split(' ')).toHaveLength(1);
    expect(new Webhook(again.body.secret).verify(after.body, after.headers)).toMatchObject({ data: { details: { i: 3 } } });
    expect(() => new Webhook(rotated.body.secret).verify(after.body, after.headers)).toThrow();
    expect(() => new Webhook(s.secret).verify(after.body, after.headers)).toThrow();
    const rotations = await t.ds.query(`SELECT details FROM audit_events WHERE type = 'audit_stream.secret_rotated' AND details->>'streamId' = $1`, [s.id]);
    expect(rotations).toHaveLength(2);
    expect(JSON.stringify(rotations)).not.toContain('whsec_');

    // Disabled: nothing new is sent.
    await api(keyA).patch(`/${s.id}`, { enabled: false }).expect(200);
    await event(4);
    await new Promise((res) => setTimeout(res, 700));
    expect(r2.got).toHaveLength(2);
    expect(r1.got).toHaveLength(1);
  });

  it('refuses a bad destination in words', async () => {
    const res = await api(globalKey).post('', { name: 'x', url: 'ftp://example.com/hook' });
    expect(res.status).toBe(400);
    expect(res.body.message).toContain('url: must be https');
    const secret = await api(globalKey).post('', { name: 'x', url: 'http://127.0.0.1:1/hook', secret: 'hunter2' });
    expect(secret.status).toBe(400);
    expect(secret.body.message).toContain('whsec_');
    expect((await api(globalKey).post('', { url: 'http://127.0.0.1:1/hook' })).status).toBe(400);
    expect((await api(globalKey).get('/not-a-uuid')).status).toBe(404);
  });
});
