import request from 'supertest';
import { makeApiKey, makeTenant } from '../factories';
import { createTestApp, TestApp } from '../setup/app';

/** A small RFC 4180 reader, for reading the export back. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\r' && text[i + 1] === '\n') row.push(field), rows.push(row), (row = []), (field = ''), i++;
    else field += c;
  }
  return rows;
}

describe('admin API: audit export', () => {
  let t: TestApp;
  let globalKey: string;
  let tenantA: { id: string; slug: string };
  let tenantB: { id: string };
  let keyA: string;

  const insert = (type: string, tenantId: string | null, from: string, n: number, actor = 'system') =>
    t.ds.query(
      `INSERT INTO audit_events (type, actor, tenant_id, at, details)
       SELECT $1, $5, $2, $3::timestamptz + g * interval '1 minute', jsonb_build_object('n', g, 'note', 'a "quoted", text') FROM generate_series(1, $4) g`,
      [type, tenantId, from, n, actor],
    );

  beforeAll(async () => {
    t = await createTestApp();
    globalKey = await makeApiKey(t.ds, null);
    tenantA = await makeTenant(t.ds);
    tenantB = await makeTenant(t.ds);
    keyA = await makeApiKey(t.ds, tenantA.id);
    // More than one page (1,000) per selection, across the old partition and this month's.
    await insert('test.a', tenantA.id, '2025-03-01T00:00:00Z', 1500);
    await insert('test.b', tenantB.id, '2025-03-01T00:00:00Z', 1200);
    await insert('test.a', tenantA.id, new Date(Date.now() - 3600_000).toISOString(), 30);
    await insert('test.formula', tenantA.id, '2025-03-02T00:00:00Z', 2, '=HYPERLINK("http://evil.example","click")');
  });
  afterAll(async () => {
    await t.close();
  });

  const get = (key: string, path: string) => request(t.http).get(`/api/v1/audit-events${path}`).set('Authorization', `Bearer ${key}`);

  /** Every page of the list endpoint. */
  const listAll = async (key: string, query: string) => {
    const items: unknown[] = [];
    let before = '';
    for (;;) {
      const res = await get(key, `?limit=500${query}${before ? `&before=${before}` : ''}`).expect(200);
      items.push(...res.body.items);
      if (!res.body.nextBefore) return items;
      before = res.body.nextBefore;
    }
  };
  const exportNdjson = async (key: string, query: string) => {
    const res = await get(key, `/export?format=ndjson${query}`).buffer(true).parse((r, cb) => {
      let s = '';
      r.on('data', (c: Buffer) => (s += c.toString('utf8')));
      r.on('end', () => cb(null, s));
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="audit-events-\d{8}T\d{6}\.ndjson"$/);
    return (res.body as string).split('\n').filter(Boolean).map((l) => JSON.parse(l));
  };

  it.each([
    ['everything', ''],
    ['a range', '&from=2025-03-01T10:00:00Z&to=2025-03-01T20:00:00Z'],
    ['a type and tenant', `&type=test.a&tenantId=TENANT_A`],
    ['an open-ended range', '&from=2025-03-01T23:00:00Z'],
  ])('equals the list endpoint, row for row: %s', async (_name, q) => {
    const query = q.replace('TENANT_A', tenantA.slug);
    const listed = await listAll(globalKey, query);
    const exported = await exportNdjson(globalKey, query);
    expect(listed.length).toBeGreaterThan(0);
    expect(exported).toEqual(listed);
  });

  it('is the key\'s own tenant only for a tenant-scoped key; another tenant is a 404', async () => {
    const exported = await exportNdjson(keyA, '');
    expect(exported.length).toBe(1500 + 30 + 2);
    expect(exported.every((e: { tenantId: string }) => e.tenantId === tenantA.id)).toBe(true);
    expect(exported).toEqual(await listAll(keyA, ''));
    const other = await get(keyA, `/export?tenantId=${tenantB.id}`);
    expect(other.status).toBe(404);
  });

  it('writes CSV per RFC 4180, with formula-looking cells defused', async () => {
    const res = await get(globalKey, `/export?format=csv&tenantId=${tenantA.id}&from=2025-03-02T00:00:00Z&to=2025-03-03T00:00:00Z`).expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    const rows = parseCsv(res.text);
    expect(rows[0]).toEqual(['id', 'type', 'actor', 'tenantId', 'ip', 'requestId', 'at', 'details']);
    const listed = (await listAll(globalKey, `&tenantId=${tenantA.id}&from=2025-03-02T00:00:00Z&to=2025-03-03T00:00:00Z`)) as { id: string; actor: string; details: object; at: string }[];
    expect(rows.slice(1).map((r) => r[0])).toEqual(listed.map((e) => e.id));
    const formula = rows.find((r) => r[1] === 'test.formula')!;
    expect(formula[2]).toBe(`'=HYPERLINK("http://evil.example","click")`);
    expect(JSON.parse(formula[7])).toEqual(listed.find((e) => e.id === formula[0])!.details);
    expect(rows.slice(1).every((r) => r.length === 8)).toBe(true);
  });

  it('refuses a bad format or range in words, before sending anything', async () => {
    const bad = await get(globalKey, '/export?format=xlsx');
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('Format must be ndjson or csv');
    const range = await get(globalKey, '/export?from=2025-02-01&to=2025-01-01');
    expect(range.status).toBe(400);
    expect(JSON.stringify(range.body)).toContain('From must not be later than To');
    expect((await request(t.http).get('/api/v1/audit-events/export')).status).toBe(401);
  });
});
