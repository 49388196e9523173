import request from 'supertest';
import { SessionsService } from '../../src/auth/sessions.service';
import { sha256Hex } from '../../src/crypto/tokens';
import { TenantsService } from '../../src/tenants/tenants.service';
import { makeApiKey, makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';

describe('admin API: tenants', () => {
  let t: TestApp;
  let globalKey: string;
  const UNKNOWN = '00000000-0000-4000-8000-000000000000';

  beforeAll(async () => {
    t = await createTestApp();
    globalKey = await makeApiKey(t.ds);
  });
  afterAll(async () => {
    await t.close();
  });

  const api = (key = globalKey) => ({
    get: (path: string) => request(t.http).get(path).set('Authorization', `Bearer ${key}`),
    post: (path: string) => request(t.http).post(path).set('Authorization', `Bearer ${key}`),
    patch: (path: string) => request(t.http).patch(path).set('Authorization', `Bearer ${key}`),
    delete: (path: string) => request(t.http).delete(path).set('Authorization', `Bearer ${key}`),
  });
  const count = async (sql: string, params: unknown[] = []) =>
    Number((await t.ds.query(`SELECT count(*)::int AS n FROM ${sql}`, params))[0].n);
  const auditOf = (type: string, tenantId: string) =>
    t.ds.query(`SELECT actor, tenant_id, request_id, details FROM audit_events WHERE type = $1 AND tenant_id = $2 ORDER BY id`, [
      type,
      tenantId,
    ]);

  describe('create', () => {
    it('creates a tenant and records tenant.created with the caller and request id', async () => {
      const res = await api()
        .post('/api/v1/tenants')
        .set('X-Request-Id', 'req-create-acme')
        .send({ slug: 'acme', name: '  Acme Corp ', attributes: { region: 'emea', seats: 25, beta: true } })
        .expect(201);
      expect(res.body).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        slug: 'acme',
        name: 'Acme Corp',
        attributes: { region: 'emea', seats: 25, beta: true },
        disabled: false,
        logoutLandingUrl: null,
        mfaPolicy: 'off',
        passwordSignIn: true,
        branding: { displayName: null, logoUrl: null, accentColor: null, supportContact: null },
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });
      const [keyRow] = await t.ds.query(`SELECT id FROM api_keys WHERE key_hash = $1`, [sha256Hex(globalKey)]);
      const events = await auditOf('tenant.created', res.body.id);
      expect(events).toEqual([
        { actor: `apikey:${keyRow.id}`, tenant_id: res.body.id, request_id: 'req-create-acme', details: { slug: 'acme', name: 'Acme Corp' } },
      ]);
    });

    it('refuses a taken slug with 409 tenant_slug_taken and writes nothing', async () => {
      await makeTenant(t.ds, { slug: 'taken' });
      const before = await count('tenants');
      const res = await api().post('/api/v1/tenants').send({ slug: 'taken', name: 'Again' }).expect(409);
      expect(res.body).toMatchObject({ statusCode: 409, error: 'tenant_slug_taken', message: expect.stringContaining('taken') });
      expect(await count('tenants')).toBe(before);
    });

    it.each([
      ['upper case', 'Acme'],
      ['leading hyphen', '-acme'],
      ['underscore', 'ac_me'],
      ['too long', 'a'.repeat(64)],
      ['empty', ''],
      ['not a string', 42],
    ])('refuses a bad slug (%s) with 400 naming slug', async (_label, slug) => {
      const before = await count('tenants');
      const res = await api().post('/api/v1/tenants').send({ slug, name: 'X' }).expect(400);
      expect(res.body.error).toBe('validation_failed');
      expect(res.body.message).toContain('Slug must be 1-63 lower-case letters');
      // Words for a person: no regular expression at the end (the pattern is in the OpenAPI schema).
      expect(res.body.message).not.toMatch(/[\^$[\]{}]/);
      expect(await count('tenants')).toBe(before);
    });

    it('refuses an unknown field, a missing name, a bad landing URL', async () => {
      const before = await count('tenants');
      const unknown = await api().post('/api/v1/tenants').send({ slug: 'unk', name: 'X', colour: 'red' }).expect(400);
      expect(unknown.body.message).toContain('"colour" is not a field this accepts');
      const noName = await api().post('/api/v1/tenants').send({ slug: 'noname' }).expect(400);
      expect(noName.body.message).toContain('Name must be 1 to 200 characters long');
      const blankName = await api().post('/api/v1/tenants').send({ slug: 'blank', name: '   ' }).expect(400);
      expect(blankName.body.message).toContain('Name must be 1 to 200 characters long');
      const url = await api().post('/api/v1/tenants').send({ slug: 'url', name: 'X', logoutLandingUrl: 'javascript:alert(1)' }).expect(400);
      expect(url.body.message).toContain('After sign-out address must be an absolute http(s) URL');
      expect(await count('tenants')).toBe(before);
    });

    it('refuses a malformed JSON body with 400 saying what is wrong with the JSON', async () => {
      const before = await count('tenants');
      const res = await api().post('/api/v1/tenants').set('Content-Type', 'application/json').send('{"slug": "x",').expect(400);
      expect(res.body).toMatchObject({ statusCode: 400, message: expect.stringContaining('JSON') });
      expect(await count('tenants')).toBe(before);
    });

    it('refuses a JSON array body', async () => {
      const before = await count('tenants');
      await api().post('/api/v1/tenants').send([{ slug: 'arr', name: 'X' }]).expect(400);
      expect(await count('tenants')).toBe(before);
    });

    it.each([
      [{ deep: { a: 1 } }, 'Attributes: "deep" must be text, a number or true/false (got an object)'],
      [{ list: [1, 2] }, 'Attributes: "list" must be text, a number or true/false (got an array)'],
      [{ gone: null }, 'Attributes: "gone" must be text, a number or true/false (got null)'],
      [{ 'bad key': 'x' }, 'Attributes key "bad key" must start with a letter'],
      [{ exp: 1 }, 'Attributes key "exp" is reserved'],
      [['a'], 'Attributes must be a JSON object'],
      [null, 'Attributes must be a JSON object'],
    ])('refuses attributes %j with a message naming the problem', async (attributes, message) => {
      const before = await count('tenants');
      const res = await api().post('/api/v1/tenants').send({ slug: 'attrs', name: 'X', attributes }).expect(400);
      expect(res.body.error).toBe('validation_failed');
      expect(res.body.message).toContain(message);
      expect(await count('tenants')).toBe(before);
    });

    it('refuses more than 50 attributes', async () => {
      const attributes = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i]));
      const res = await api().post('/api/v1/tenants').send({ slug: 'many', name: 'X', attributes }).expect(400);
      expect(res.body.message).toContain('Attributes may hold at most 50 keys (got 51)');
    });

    it('answers 401 without a key', async () => {
      const before = await count('tenants');
      await request(t.http).post('/api/v1/tenants').send({ slug: 'nokey', name: 'X' }).expect(401);
      expect(await count('tenants')).toBe(before);
    });
  });

  describe('read', () => {
    it('lists every tenant to a global key, paginated and ordered by slug', async () => {
      for (const slug of ['page-a', 'page-b', 'page-c']) await makeTenant(t.ds, { slug });
      const total = await count('tenants');
      const first = await api().get('/api/v1/tenants?limit=2&offset=0').expect(200);
      expect(first.body).toMatchObject({ total, limit: 2, offset: 0 });
      expect(first.body.items).toHaveLength(2);
      const all = await api().get(`/api/v1/tenants?limit=200`).expect(200);
      const slugs = all.body.items.map((x: { slug: string }) => x.slug);
      expect(slugs).toEqual([...slugs].sort());
      expect(slugs).toEqual(expect.arrayContaining(['page-a', 'page-b', 'page-c']));
      const second = await api().get('/api/v1/tenants?limit=2&offset=2').expect(200);
      expect(second.body.items[0].slug).toBe(slugs[2]);
    });

    it.each(['limit=0', 'limit=201', 'limit=abc', 'offset=-1', 'sort=slug'])('refuses the query %s with 400', async (qs) => {
      const res = await api().get(`/api/v1/tenants?${qs}`).expect(400);
      expect(res.body.message).toMatch(/limit|offset|sort/);
    });

    it('gets one tenant; unknown and malformed ids are 404 tenant_not_found', async () => {
      const tenant = await makeTenant(t.ds, { attributes: { plan: 'pro' } });
      const res = await api().get(`/api/v1/tenants/${tenant.id}`).expect(200);
      expect(res.body).toMatchObject({ id: tenant.id, slug: tenant.slug, attributes: { plan: 'pro' } });
      for (const id of [UNKNOWN, 'not-a-uuid', `${tenant.id}x`]) {
        const missing = await api().get(`/api/v1/tenants/${id}`).expect(404);
        expect(missing.body).toMatchObject({ statusCode: 404, error: 'tenant_not_found' });
      }
    });
  });

  describe('update', () => {
    it('changes name, attributes (replaced whole) and landing URL, and records tenant.updated', async () => {
      const tenant = await makeTenant(t.ds, { attributes: { old: 'x' } });
      const res = await api()
        .patch(`/api/v1/tenants/${tenant.id}`)
        .send({ name: 'Renamed', attributes: { region: 'us' }, logoutLandingUrl: 'https://app.example.com/bye' })
        .expect(200);
      expect(res.body).toMatchObject({ name: 'Renamed', attributes: { region: 'us' }, logoutLandingUrl: 'https://app.example.com/bye', slug: tenant.slug });
      const cleared = await api().patch(`/api/v1/tenants/${tenant.id}`).send({ logoutLandingUrl: null }).expect(200);
      expect(cleared.body.logoutLandingUrl).toBeNull();
      const events = await auditOf('tenant.updated', tenant.id);
      expect(events.map((e: { details: unknown }) => e.details)).toEqual([
        { changes: { name: 'Renamed', attributes: { region: 'us' }, logoutLandingUrl: 'https://app.example.com/bye' } },
        { changes: { logoutLandingUrl: null } },
      ]);
    });

    it('refuses a slug change, a null name, nested attributes; the row is unchanged', async () => {
      const tenant = await makeTenant(t.ds, { name: 'Keep' });
      const slug = await api().patch(`/api/v1/tenants/${tenant.id}`).send({ slug: 'other' }).expect(400);
      expect(slug.body.message).toContain('"slug" is not a field this accepts');
      const nullName = await api().patch(`/api/v1/tenants/${tenant.id}`).send({ name: null }).expect(400);
      expect(nullName.body.message).toContain('Name');
      const nested = await api().patch(`/api/v1/tenants/${tenant.id}`).send({ name: 'New', attributes: { a: { b: 1 } } }).expect(400);
      expect(nested.body.message).toContain('Attributes: "a" must be text, a number or true/false');
      const disabled = await api().patch(`/api/v1/tenants/${tenant.id}`).send({ disabled: 'yes' }).expect(400);
      expect(disabled.body.message).toContain('Disabled must be true or false');
      const [row] = await t.ds.query(`SELECT name, slug, attributes FROM tenants WHERE id = $1`, [tenant.id]);
      expect(row).toEqual({ name: 'Keep', slug: tenant.slug, attributes: {} });
      expect(await count(`audit_events WHERE tenant_id = $1`, [tenant.id])).toBe(0);
    });

    it('answers 404 for an unknown tenant', async () => {
      const res = await api().patch(`/api/v1/tenants/${UNKNOWN}`).send({ name: 'X' }).expect(404);
      expect(res.body.error).toBe('tenant_not_found');
    });

    it('disabling a tenant ends its live sessions at once', async () => {
      const tenant = await makeTenant(t.ds);
      const user = await makeUser(t.ds, tenant.id);
      const sessions = t.app.get(SessionsService);
      const s = await sessions.create({ id: user.id, tenantId: tenant.id }, { ip: null, userAgent: null });
      expect(await sessions.resolve(s.token)).not.toBeNull();

      await api().patch(`/api/v1/tenants/${tenant.id}`).send({ disabled: true }).expect(200);
      expect(await sessions.resolve(s.token)).toBeNull();
      expect(await count(`sessions WHERE tenant_id = $1 AND revoked_at IS NULL`, [tenant.id])).toBe(0);

      // Re-enabling does not bring the ended session back.
      await api().patch(`/api/v1/tenants/${tenant.id}`).send({ disabled: false }).expect(200);
      expect(await sessions.resolve(s.token)).toBeNull();
    });
  });

  describe('delete', () => {
    it('deletes the tenant with its users and records tenant.deleted', async () => {
      const tenant = await makeTenant(t.ds);
      await makeUser(t.ds, tenant.id, { groups: ['g'] });
      await api().delete(`/api/v1/tenants/${tenant.id}`).expect(204);
      expect(await count(`tenants WHERE id = $1`, [tenant.id])).toBe(0);
      expect(await count(`users WHERE tenant_id = $1`, [tenant.id])).toBe(0);
      expect(await count(`groups WHERE tenant_id = $1`, [tenant.id])).toBe(0);
      const events = await auditOf('tenant.deleted', tenant.id);
      expect(events).toHaveLength(1);
      expect(events[0].details).toEqual({ slug: tenant.slug, name: tenant.name });
      await api().delete(`/api/v1/tenants/${tenant.id}`).expect(404);
    });
  });

  describe('a tenant-scoped key', () => {
    let own: { id: string; slug: string };
    let other: { id: string; slug: string; name: string };
    let scoped: string;
    beforeAll(async () => {
      own = await makeTenant(t.ds);
      other = await makeTenant(t.ds, { name: 'Other Co' });
      scoped = await makeApiKey(t.ds, own.id);
    });

    it('lists only its own tenant', async () => {
      const res = await api(scoped).get('/api/v1/tenants').expect(200);
      expect(res.body).toMatchObject({ total: 1, limit: 50, offset: 0 });
      expect(res.body.items.map((x: { id: string }) => x.id)).toEqual([own.id]);
    });

    it('reads and updates its own tenant', async () => {
      await api(scoped).get(`/api/v1/tenants/${own.id}`).expect(200);
      const res = await api(scoped).patch(`/api/v1/tenants/${own.id}`).send({ name: 'Own renamed' }).expect(200);
      expect(res.body.name).toBe('Own renamed');
    });

    it('gets the same 404 for another tenant as for a missing one, and changes nothing', async () => {
      for (const call of [
        api(scoped).get(`/api/v1/tenants/${other.id}`),
        api(scoped).patch(`/api/v1/tenants/${other.id}`).send({ name: 'Hijacked', disabled: true }),
        api(scoped).delete(`/api/v1/tenants/${other.id}`),
      ]) {
        const res = await call.expect(404);
        expect(res.body).toMatchObject({ error: 'tenant_not_found', message: 'tenant not found' });
        expect(JSON.stringify(res.body)).not.toContain(other.slug);
      }
      const [row] = await t.ds.query(`SELECT name, disabled FROM tenants WHERE id = $1`, [other.id]);
      expect(row).toEqual({ name: 'Other Co', disabled: false });
    });

    it('may not create tenants or delete its own (403 global_key_required)', async () => {
      const before = await count('tenants');
      const create = await api(scoped).post('/api/v1/tenants').send({ slug: 'by-scoped', name: 'X' }).expect(403);
      expect(create.body.error).toBe('global_key_required');
      const del = await api(scoped).delete(`/api/v1/tenants/${own.id}`).expect(403);
      expect(del.body.error).toBe('global_key_required');
      expect(await count('tenants')).toBe(before);
    });
  });

  it('TenantsService.findById / findBySlug find enabled and disabled tenants, else throw tenant_not_found', async () => {
    const svc = t.app.get(TenantsService);
    const tenant = await makeTenant(t.ds, { disabled: true });
    await expect(svc.findById(tenant.id)).resolves.toMatchObject({ id: tenant.id, slug: tenant.slug, disabled: true });
    await expect(svc.findBySlug(tenant.slug)).resolves.toMatchObject({ id: tenant.id });
    for (const lookup of [() => svc.findById(UNKNOWN), () => svc.findById('bad'), () => svc.findBySlug('no-such-slug'), () => svc.findBySlug('Bad Slug!')]) {
      await expect(lookup()).rejects.toMatchObject({ code: 'tenant_not_found', status: 404 });
    }
  });

  it('documents the routes in /api/docs', async () => {
    const res = await request(t.http).get('/api/docs-json').expect(200);
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/tenants',
        '/api/v1/tenants/{tenantId}',
        '/api/v1/tenants/{tenantId}/users',
        '/api/v1/tenants/{tenantId}/users/{userId}',
        '/api/v1/tenants/{tenantId}/users/{userId}/password',
        '/api/v1/tenants/{tenantId}/users/{userId}/groups',
        '/api/v1/tenants/{tenantId}/groups',
        '/api/v1/tenants/{tenantId}/groups/{groupId}',
        '/api/v1/tenants/{tenantId}/groups/{groupId}/members',
        '/api/v1/tenants/{tenantId}/groups/{groupId}/members/{userId}',
      ]),
    );
    const schemas = res.body.components.schemas;
    expect(schemas.CreateTenantDto.properties.slug.pattern).toBe('^[a-z0-9][a-z0-9-]{0,62}$');
    expect(schemas.CreateUserDto.properties.password).toMatchObject({ minLength: 12, maxLength: 256, writeOnly: true });
    // The response schemas have no password field at all.
    expect(Object.keys(schemas.UserDetailDto.properties)).not.toContain('password');
    expect(Object.keys(schemas.UserDetailDto.properties)).not.toContain('passwordHash');
  });
});
