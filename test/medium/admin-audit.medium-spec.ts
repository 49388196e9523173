import request from 'supertest';
import { makeApiKey, makeTenant } from '../factories';
import { createTestApp, TestApp } from '../setup/app';

interface Event {
  id: string;
  type: string;
  tenantId: string | null;
  at: string;
  details: Record<string, unknown>;
}

describe('admin API: audit events', () => {
  let t: TestApp;
  let globalKey: string;
  let tenantA: { id: string };
  let tenantB: { id: string };
  let keyA: string;

  /** Events written straight to the table, at known instants, so filters have exact answers. */
  const insert = async (type: string, tenantId: string | null, at: string, n: number) => {
    const rows = await t.ds.query(
      `INSERT INTO audit_events (type, actor, tenant_id, at, details)
       SELECT $1, 'system', $2, $3::timestamptz, jsonb_build_object('n', g) FROM generate_series(1, $4) g RETURNING id`,
      [type, tenantId, at, n],
    );
    return rows as { id: string }[];
  };

  beforeAll(async () => {
    t = await createTestApp();
    globalKey = await makeApiKey(t.ds, null);
    tenantA = await makeTenant(t.ds);
    tenantB = await makeTenant(t.ds);
    keyA = await makeApiKey(t.ds, tenantA.id);
    await insert('test.old', tenantA.id, '2024-01-01T00:00:00Z', 3);
    await insert('test.mid', tenantB.id, '2024-06-01T00:00:00Z', 4);
    await insert('test.new', tenantA.id, '2025-01-01T00:00:00Z', 5);
    await insert('test.global', null, '2025-01-02T00:00:00Z', 2);
  });
  afterAll(async () => {
    await t.close();
  });

  const get = (key: string, query: string) => request(t.http).get(`/api/v1/audit-events${query}`).set('Authorization', `Bearer ${key}`);
  const types = (items: Event[]) => items.map((e) => e.type);

  it('lists newest first with the default page size', async () => {
    const res = await get(globalKey, '').expect(200);
    const ids = res.body.items.map((e: Event) => BigInt(e.id));
    expect(ids).toEqual([...ids].sort((a: bigint, b: bigint) => (a > b ? -1 : a < b ? 1 : 0)));
    expect(res.body.items.length).toBeLessThanOrEqual(100);
    expect(Object.keys(res.body.items[0]).sort()).toEqual(['actor', 'at', 'details', 'id', 'ip', 'requestId', 'tenantId', 'type']);
  });

  it('pages by id with before/nextBefore, visiting each event once', async () => {
    const seen: string[] = [];
    let before = '';
    for (let page = 0; page < 10; page++) {
      const res = await get(globalKey, `?type=test.new&limit=2${before ? `&before=${before}` : ''}`).expect(200);
      seen.push(...res.body.items.map((e: Event) => e.id));
      if (!res.body.nextBefore) break;
      before = res.body.nextBefore;
    }
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(5);
    const last = await get(globalKey, `?type=test.new&limit=5`).expect(200);
    // A full page cannot know it is the last: the next one is empty.
    expect((await get(globalKey, `?type=test.new&before=${last.body.nextBefore}`).expect(200)).body).toEqual({ items: [], nextBefore: null });
  });

  it('filters by tenant, type and time range', async () => {
    const a = await get(globalKey, `?tenantId=${tenantA.id}&limit=500`).expect(200);
    expect(new Set(types(a.body.items))).toEqual(new Set(['test.old', 'test.new']));
    const range = await get(globalKey, `?from=2024-03-01&to=2025-01-01T00:00:00Z&limit=500`).expect(200);
    expect(types(range.body.items).filter((x) => x.startsWith('test.'))).toEqual(['test.mid', 'test.mid', 'test.mid', 'test.mid']);
    const from = await get(globalKey, `?from=2025-01-01T00:00:00%2B00:00&type=test.new`).expect(200);
    expect(from.body.items).toHaveLength(5);
  });

  it('shows a tenant key only its own tenant\'s events', async () => {
    const res = await get(keyA, '?limit=500').expect(200);
    expect(res.body.items.length).toBeGreaterThan(0);
    expect(res.body.items.every((e: Event) => e.tenantId === tenantA.id)).toBe(true);
    expect((await get(keyA, `?type=test.mid`).expect(200)).body.items).toEqual([]);
    expect((await get(keyA, `?tenantId=${tenantB.id}`).expect(404)).body.error).toBe('tenant_not_found');
    await get(keyA, `?tenantId=${tenantA.id}`).expect(200);
  });

  it.each([
    ['?from=yesterday', /^From must be an ISO 8601 date/],
    ['?to=2024-02-30', /^To must be an ISO 8601 date/],
    ['?from=2025-01-02&to=2025-01-01', /From must not be later than To/],
    ['?limit=0', /Page size \(limit\) must be a whole number from 1 to 500/],
    ['?limit=501', /Page size \(limit\) must be a whole number from 1 to 500/],
    ['?limit=ten', /Page size \(limit\) must be a whole number from 1 to 500/],
    ['?before=abc', /Page position \(before\) must be an event id/],
    ['?tenantId=Not_a_slug', /Tenant must be a tenant id \(UUID\) or slug/],
    ['?type=Not%20A%20Type', /Event type must be an event type/],
    ['?sort=asc', /"sort" is not a field this accepts/],
  ])('refuses %s with 400', async (query, message) => {
    const res = await get(globalKey, query).expect(400);
    expect(res.body.message).toMatch(message);
  });

  it('records admin changes with the calling key as actor', async () => {
    const tenant = await makeTenant(t.ds);
    const created = await request(t.http)
      .post('/api/v1/api-keys')
      .set('Authorization', `Bearer ${globalKey}`)
      .set('X-Request-Id', 'audit-probe-1')
      .send({ name: 'probe', tenantId: tenant.id })
      .expect(201);
    const res = await get(globalKey, `?tenantId=${tenant.id}&type=api_key.created`).expect(200);
    expect(res.body.items).toHaveLength(1);
    expect(res.body.items[0]).toMatchObject({ actor: expect.stringMatching(/^apikey:[0-9a-f-]{36}$/), requestId: 'audit-probe-1', details: { apiKeyId: created.body.id } });
    expect(JSON.stringify(res.body)).not.toContain(created.body.key);
  });
});
