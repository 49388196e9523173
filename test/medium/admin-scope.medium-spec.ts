import { createHash, randomBytes } from 'node:crypto';
import request from 'supertest';
import { ensureGroup, grantAccess, makeApiKey, makeTarget, makeTenant, makeUser } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { nestRoutes, pathParams, RouteInfo } from '../support/routes';

/**
 * Who may do what in the admin API, from the routes' own metadata (@GlobalOnly / @TenantScoped):
 * the matrices below are generated from the discovered routes, so a route added later is
 * covered without editing this file (a route whose path names something the matrix cannot
 * fill fails it, saying what to add).
 */
describe('admin API scopes', () => {
  let t: TestApp;
  let globalKey: string;
  let routes: RouteInfo[];

  beforeAll(async () => {
    t = await createTestApp();
    globalKey = await makeApiKey(t.ds, null, 'root');
    routes = nestRoutes(t.app).filter((r) => r.path.startsWith('/api/v1/'));
  });
  afterAll(async () => {
    await t.close();
  });

  const as = (key: string) => ({
    get: (p: string) => request(t.http).get(p).set('Authorization', `Bearer ${key}`),
    post: (p: string, body: object) => request(t.http).post(p).set('Authorization', `Bearer ${key}`).send(body),
    patch: (p: string, body: object) => request(t.http).patch(p).set('Authorization', `Bearer ${key}`).send(body),
  });

  describe('a disabled tenant', () => {
    it("refuses its scoped keys at authentication: they cannot read, create keys or re-enable the tenant", async () => {
      const tenant = await makeTenant(t.ds);
      const key = await makeApiKey(t.ds, tenant.id, 'tenant admin');
      await as(key).get(`/api/v1/tenants/${tenant.id}`).expect(200);

      await as(globalKey).patch(`/api/v1/tenants/${tenant.id}`, { disabled: true }).expect(200);

      const read = await as(key).get(`/api/v1/tenants/${tenant.id}`).expect(401);
      expect(read.body).toMatchObject({ statusCode: 401, error: 'unauthorized' });
      const keysBefore = await t.ds.query(`SELECT id FROM api_keys WHERE tenant_id = $1`, [tenant.id]);
      await as(key).post('/api/v1/api-keys', { name: 'persistence', tenantId: tenant.id }).expect(401);
      expect(await t.ds.query(`SELECT id FROM api_keys WHERE tenant_id = $1`, [tenant.id])).toEqual(keysBefore);
      await as(key).patch(`/api/v1/tenants/${tenant.id}`, { disabled: false }).expect(401);
      const [row] = await t.ds.query(`SELECT disabled FROM tenants WHERE id = $1`, [tenant.id]);
      expect(row.disabled).toBe(true);

      // Only the operator lifts the suspension; the key then works again.
      await as(globalKey).patch(`/api/v1/tenants/${tenant.id}`, { disabled: false }).expect(200);
      await as(key).get(`/api/v1/tenants/${tenant.id}`).expect(200);
    });

    it('keeps operator-only fields to the global key: a scoped key sending one gets a 403 naming it', async () => {
      const tenant = await makeTenant(t.ds);
      const key = await makeApiKey(t.ds, tenant.id);
      for (const disabled of [true, false]) {
        const res = await as(key).patch(`/api/v1/tenants/${tenant.id}`, { name: 'Renamed', disabled }).expect(403);
        expect(res.body).toMatchObject({ error: 'operator_only_field', details: { field: 'disabled' } });
        expect(res.body.message).toContain('Disabled can only be set by a platform operator');
      }
      const [row] = await t.ds.query(`SELECT name, disabled FROM tenants WHERE id = $1`, [tenant.id]);
      expect(row).toEqual({ name: tenant.name, disabled: false });
      // The fields a tenant admin owns stay editable.
      await as(key).patch(`/api/v1/tenants/${tenant.id}`, { name: 'Renamed' }).expect(200);
      await as(globalKey).patch(`/api/v1/tenants/${tenant.id}`, { disabled: true }).expect(200);
    });

    it('lets a scoped key create keys only as powerful as itself', async () => {
      const tenant = await makeTenant(t.ds);
      const other = await makeTenant(t.ds);
      const key = await makeApiKey(t.ds, tenant.id);
      expect((await as(key).post('/api/v1/api-keys', { name: 'x' }).expect(403)).body.error).toBe('global_key_required');
      await as(key).post('/api/v1/api-keys', { name: 'x', tenantId: null }).expect(403);
      await as(key).post('/api/v1/api-keys', { name: 'x', tenantId: other.id }).expect(404);
      const child = await as(key).post('/api/v1/api-keys', { name: 'x', tenantId: tenant.id }).expect(201);
      expect(child.body.tenantId).toBe(tenant.id);
    });
  });

  describe('slugs in paths', () => {
    it('names a tenant and a target by slug wherever an id is taken, resolved to the same objects', async () => {
      const tenant = await makeTenant(t.ds);
      const target = await makeTarget(t, { kind: 'metabase', baseUrl: 'https://mb-slug.example.com', secret: 'z'.repeat(40) });
      const byId = await as(globalKey).get(`/api/v1/tenants/${tenant.id}`).expect(200);
      const bySlug = await as(globalKey).get(`/api/v1/tenants/${tenant.slug}`).expect(200);
      expect(bySlug.body).toEqual(byId.body);

      const user = await as(globalKey).post(`/api/v1/tenants/${tenant.slug}/users`, { email: 'slug@example.com' }).expect(201);
      const [row] = await t.ds.query(`SELECT tenant_id FROM users WHERE id = $1`, [user.body.id]);
      expect(row.tenant_id).toBe(tenant.id);

      await ensureGroup(t.ds, tenant.id, 'analysts'); // a mapping must name a group of the tenant
      const granted = await request(t.http)
        .put(`/api/v1/tenants/${tenant.slug}/access/${target.slug}`)
        .set('Authorization', `Bearer ${globalKey}`)
        .send({ groupMappings: { analysts: ['Analysts'] } })
        .expect(201);
      expect(granted.body).toMatchObject({ tenantId: tenant.id, targetId: target.id });
      expect((await as(globalKey).get(`/api/v1/targets/${target.slug}`).expect(200)).body.id).toBe(target.id);

      // The tenant's own key may use its slug too.
      const key = await makeApiKey(t.ds, tenant.id);
      await as(key).get(`/api/v1/tenants/${tenant.slug}/users`).expect(200);

      // And a tenant named in a body or a query.
      const created = await as(key).post('/api/v1/api-keys', { name: 'by slug', tenantId: tenant.slug }).expect(201);
      expect(created.body.tenantId).toBe(tenant.id);
      const events = await as(globalKey).get(`/api/v1/audit-events?tenantId=${tenant.slug}&type=api_key.created`).expect(200);
      expect(events.body.items.map((e: { tenantId: string }) => e.tenantId)).toEqual([tenant.id]);
    });

    it('answers one 404 for an unknown, malformed or other tenant, and an unknown target', async () => {
      const tenant = await makeTenant(t.ds);
      const other = await makeTenant(t.ds);
      const key = await makeApiKey(t.ds, tenant.id);
      for (const ref of ['no-such-tenant', 'Not_A_Slug', '%00', other.slug, other.id]) {
        const res = await as(key).get(`/api/v1/tenants/${ref}/users`).expect(404);
        expect(res.body).toMatchObject({ error: 'tenant_not_found', message: 'tenant not found' });
      }
      await as(globalKey).get('/api/v1/tenants/no-such-tenant').expect(404);
      await as(key).post('/api/v1/api-keys', { name: 'x', tenantId: other.slug }).expect(404);
      await as(key).get(`/api/v1/audit-events?tenantId=${other.slug}`).expect(404);
      await as(globalKey).post('/api/v1/api-keys', { name: 'x', tenantId: 'no-such-tenant' }).expect(404);
      for (const ref of ['no-such-target', 'Not_A_Slug']) {
        expect((await as(globalKey).get(`/api/v1/targets/${ref}`).expect(404)).body.error).toBe('target_not_found');
        const res = await request(t.http).delete(`/api/v1/tenants/${tenant.slug}/access/${ref}`).set('Authorization', `Bearer ${globalKey}`);
        expect(res.status).toBe(404);
        expect(res.body.error).toBe('target_not_found');
      }
    });

    it('refuses a slug with the form of a UUID (it could only ever be reached by id)', async () => {
      const uuidLike = '6f1c2a3b-1d2e-4f5a-8b9c-0d1e2f3a4b5c';
      const tenant = await as(globalKey).post('/api/v1/tenants', { slug: uuidLike, name: 'x' }).expect(400);
      expect(tenant.body.message).toMatch(/Slug must not have the form of a UUID/);
      const target = await as(globalKey)
        .post('/api/v1/targets', { slug: uuidLike, kind: 'metabase', baseUrl: 'https://mb-uuid.example.com', secret: 'q'.repeat(40) })
        .expect(400);
      expect(JSON.stringify(target.body)).toMatch(/Slug must not have the form of a UUID/);
    });
  });

  describe('generated from route metadata', () => {
    it('every admin route declares @GlobalOnly() or @TenantScoped(); every :tenantId route is tenant-scoped', () => {
      expect(routes.length).toBeGreaterThan(30);
      expect(routes.filter((r) => !r.scope).map((r) => `${r.method} ${r.path} (${r.handler})`)).toEqual([]);
      const tenantParam = routes.filter((r) => pathParams(r.path).includes('tenantId'));
      expect(tenantParam.length).toBeGreaterThan(20);
      expect(tenantParam.filter((r) => r.scope?.kind !== 'tenant').map((r) => `${r.method} ${r.path}`)).toEqual([]);
    });

    /** Everything of one tenant (and the shared targets), compared before and after each request. */
    async function snapshot(tenantId: string): Promise<string> {
      const rows = async (sql: string) => JSON.stringify(await t.ds.query(sql, [tenantId]));
      return [
        await rows(`SELECT to_jsonb(x) AS r FROM tenants x WHERE id = $1`),
        await rows(`SELECT to_jsonb(x) AS r FROM users x WHERE tenant_id = $1 ORDER BY id`),
        await rows(`SELECT to_jsonb(x) AS r FROM groups x WHERE tenant_id = $1 ORDER BY id`),
        await rows(`SELECT to_jsonb(x) AS r FROM group_members x WHERE tenant_id = $1 ORDER BY group_id, user_id`),
        await rows(`SELECT to_jsonb(x) AS r FROM tenant_target_access x WHERE tenant_id = $1 ORDER BY id`),
        await rows(`SELECT to_jsonb(x) AS r FROM sessions x WHERE tenant_id = $1 ORDER BY id`),
        // last_used_at moves on every authenticated call, by design.
        await rows(`SELECT to_jsonb(x) - 'last_used_at' AS r FROM api_keys x WHERE tenant_id = $1 ORDER BY id`),
        await rows(`SELECT to_jsonb(x) AS r FROM audit_events x WHERE tenant_id = $1 ORDER BY id`),
        await rows(`SELECT to_jsonb(x) AS r FROM email_domains x WHERE tenant_id = $1 ORDER BY domain`),
        await rows(`SELECT to_jsonb(x) AS r FROM bi_identities x WHERE tenant_id = $1 ORDER BY instance, email`),
        await rows(`SELECT to_jsonb(x) AS r FROM handoff_settings x WHERE tenant_id = $1`),
        await rows(`SELECT to_jsonb(x) AS r FROM handoff_secrets x WHERE tenant_id = $1 ORDER BY id`),
        await rows(`SELECT to_jsonb(x) AS r FROM trusted_issuers x WHERE tenant_id = $1 ORDER BY id`),
        await rows(`SELECT to_jsonb(x) AS r FROM account_links x WHERE tenant_id = $1 ORDER BY id`),
        await rows(`SELECT to_jsonb(x) AS r FROM mail_outbox x WHERE tenant_id = $1 ORDER BY id`),
        await rows(`SELECT to_jsonb(x) AS r FROM audit_streams x WHERE tenant_id = $1 ORDER BY id`),
        await rows(`SELECT to_jsonb(d) AS r FROM audit_stream_deliveries d JOIN audit_streams s ON s.id = d.stream_id WHERE s.tenant_id = $1 ORDER BY d.id`),
        JSON.stringify(await t.ds.query(`SELECT to_jsonb(x) AS r FROM targets x ORDER BY id`)),
      ].join('\n');
    }

    interface World {
      tenant: { id: string; slug: string };
      user: string;
      group: string;
      session: string;
      apiKeyId: string;
      key: string;
      domain: string;
      handoffSecret: string;
      trustedIssuer: string;
      invitation: string;
      stream: string;
    }

    async function world(targetId: string): Promise<World> {
      const tenant = await makeTenant(t.ds, { attributes: { region: 'emea' } });
      const user = await makeUser(t.ds, tenant.id, { groups: ['analysts'] });
      const group = await ensureGroup(t.ds, tenant.id, 'analysts');
      await grantAccess(t.ds, tenant.id, targetId, { groupMappings: { analysts: ['Analysts'] } });
      const session = createHash('sha256').update(randomBytes(32)).digest('hex');
      await t.ds.query(`INSERT INTO sessions (id, user_id, tenant_id, expires_at) VALUES ($1, $2, $3, now() + interval '1 hour')`, [
        session,
        user.id,
        tenant.id,
      ]);
      const key = await makeApiKey(t.ds, tenant.id, 'tenant admin');
      const [k] = await t.ds.query(`SELECT id FROM api_keys WHERE tenant_id = $1`, [tenant.id]);
      const domain = `${tenant.slug}.example`;
      await t.ds.query(`INSERT INTO email_domains (domain, tenant_id) VALUES ($1, $2)`, [domain, tenant.id]);
      await t.ds.query(`INSERT INTO bi_identities (instance, email, tenant_id, claimed_via) VALUES ('https://mb.example.com', $1, $2, 'sso')`, [
        `someone@${domain}`,
        tenant.id,
      ]);
      const [h] = await t.ds.query(`INSERT INTO handoff_secrets (tenant_id, secret_enc) VALUES ($1, 'v1.not.a.secret') RETURNING id`, [tenant.id]);
      const [ti] = await t.ds.query(`INSERT INTO trusted_issuers (tenant_id, issuer, audience) VALUES ($1, $2, 'aud') RETURNING id`, [
        tenant.id,
        `https://${tenant.slug}.idp.example`,
      ]);
      const [inv] = await t.ds.query(
        `INSERT INTO account_links (tenant_id, user_id, purpose, token_hash, expires_at, created_by)
         VALUES ($1, $2, 'invitation', encode(sha256(gen_random_uuid()::text::bytea), 'hex'), now() + interval '1 hour', 'test') RETURNING id`,
        [tenant.id, user.id],
      );
      const [st] = await t.ds.query(
        `INSERT INTO audit_streams (tenant_id, name, url, secret_enc, enabled) VALUES ($1, 'siem', 'https://siem.example.com/hook', 'v1.not.a.secret', false) RETURNING id`,
        [tenant.id],
      );
      return { tenant, user: user.id, group: group.id, session, apiKeyId: k.id, key, domain, handoffSecret: h.id, invitation: inv.id, trustedIssuer: ti.id, stream: st.id };
    }

    /** Fills a route's path with one tenant's objects; `tenantRef` is its id or its slug. */
    function fill(r: RouteInfo, w: World, targetId: string, tenantRef: string): string {
      return r.path.replace(/:(\w+)/g, (_m, name: string) => {
        if (name === 'tenantId') return tenantRef;
        if (name === 'userId') return w.user;
        if (name === 'groupId') return w.group;
        if (name === 'targetId') return targetId;
        if (name === 'sessionId') return w.session;
        if (name === 'domain') return w.domain;
        if (name === 'secretId' && r.path.includes('/handoff/')) return w.handoffSecret;
        if (name === 'issuerId') return w.trustedIssuer;
        if (name === 'invitationId') return w.invitation;
        if (name === 'id' && r.path.startsWith('/api/v1/api-keys/')) return w.apiKeyId;
        if (name === 'id' && r.path.startsWith('/api/v1/targets/')) return targetId;
        if (name === 'id' && r.path.startsWith('/api/v1/audit-streams/')) return w.stream;
        throw new Error(`the scope matrix does not know what :${name} of ${r.method} ${r.path} names: add it to fill()`);
      });
    }

    /**
     * Routes that name a tenant outside their path: where the other tenant's id goes. Every
     * other route gets an empty body (a route about a tenant is refused before its body is read).
     */
    const elsewhere = (w: World): Record<string, { query?: object; body?: object }> => ({
      'POST /api/v1/api-keys': { body: { name: 'matrix', tenantId: w.tenant.id } },
      'GET /api/v1/audit-events': { query: { tenantId: w.tenant.id } },
      'GET /api/v1/audit-events/export': { query: { tenantId: w.tenant.id } },
      'POST /api/v1/audit-streams': { body: { name: 'matrix', url: 'https://siem.example.com/hook', tenantId: w.tenant.id } },
      // A valid body, so the answer is about the stream (an invalid one is a 400 for any id).
      'POST /api/v1/audit-streams/:id/replay': { body: { from: '2026-01-01', to: '2026-01-02' } },
    });

    const send = (key: string, r: RouteInfo, path: string, extra: { query?: object; body?: object }) => {
      const method = r.method.toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete';
      return request(t.http)[method](path)
        .set('Authorization', `Bearer ${key}`)
        .query(extra.query ?? {})
        .send(extra.body ?? {});
    };

    it("tenant-scoped routes: B's key against A's objects (by id and by slug) gets 404 and changes nothing of A", async () => {
      const target = await makeTarget(t, { kind: 'metabase', baseUrl: 'https://mb.example.com', secret: 'x'.repeat(40) });
      const a = await world(target.id);
      const b = await world(target.id);
      const scoped = routes.filter((r) => r.scope?.kind === 'tenant');
      expect(scoped.length).toBeGreaterThan(25);
      const failures: string[] = [];
      for (const r of scoped) {
        const namesA = pathParams(r.path).some((p) => p !== 'targetId') || elsewhere(a)[`${r.method} ${r.path}`] !== undefined;
        const refs = pathParams(r.path).includes('tenantId') ? [a.tenant.id, a.tenant.slug] : [a.tenant.id];
        for (const ref of refs) {
          const path = fill(r, a, target.id, ref);
          const before = await snapshot(a.tenant.id);
          const res = await send(b.key, r, path, elsewhere(a)[`${r.method} ${r.path}`] ?? {});
          const after = await snapshot(a.tenant.id);
          const label = `${r.method} ${path}`;
          if (after !== before) failures.push(`${label}: changed tenant A's rows (answered ${res.status})`);
          if (namesA && res.status !== 404) failures.push(`${label}: answered ${res.status}, not 404`);
          if (!namesA) {
            if (res.status >= 300) failures.push(`${label}: answered ${res.status}`);
            for (const secret of [a.tenant.id, a.tenant.slug, a.user, a.apiKeyId]) {
              if (res.text.includes(secret)) failures.push(`${label}: showed ${secret} of tenant A`);
            }
          }
        }
      }
      expect(failures).toEqual([]);
    });

    it("routes for the global key only: B's key gets 403 global_key_required even on its own tenant, and nothing changes", async () => {
      const target = await makeTarget(t, { kind: 'metabase', baseUrl: 'https://mb2.example.com', secret: 'y'.repeat(40) });
      const b = await world(target.id);
      const operatorOnly = routes.filter((r) => r.scope?.operatorOnly);
      expect(operatorOnly.map((r) => `${r.method} ${r.path}`)).toEqual(
        expect.arrayContaining(['POST /api/v1/tenants', 'POST /api/v1/targets', 'PUT /api/v1/tenants/:tenantId/access/:targetId', 'DELETE /api/v1/tenants/:tenantId']),
      );
      const failures: string[] = [];
      for (const r of operatorOnly) {
        const path = fill(r, b, target.id, b.tenant.id);
        const before = await snapshot(b.tenant.id);
        const res = await send(b.key, r, path, { body: { name: 'matrix', slug: `m-${randomBytes(3).toString('hex')}` } });
        const after = await snapshot(b.tenant.id);
        if (res.status !== 403 || res.body.error !== 'global_key_required') failures.push(`${r.method} ${path}: answered ${res.status} ${res.body.error}`);
        if (after !== before) failures.push(`${r.method} ${path}: changed something`);
      }
      expect(failures).toEqual([]);
    });
  });
});
