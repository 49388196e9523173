import request from 'supertest';
import { SecretBox } from '../../src/crypto/secret-box';
import { TargetsService } from '../../src/catalog/targets.service';
import { grantAccess, makeApiKey, makeTenant } from '../factories';
import { createTestApp, TestApp } from '../setup/app';
import { openTargetSecrets } from '../support/targets';

/** Long random-looking strings, as Metabase and Sisense generate them. */
const METABASE_SECRET = 'mb-jwt-secret-7f3a9c2e41d86b05e9f7';
const EMBEDDING_SECRET = 'mb-embed-secret-0b5e1d7c93a2f468ce1';
const SISENSE_SECRET = 'sisense-shared-secret-5d2c8e1f4a7b90';

describe('admin API: targets', () => {
  let t: TestApp;
  let globalKey: string;
  let tenantKey: string;
  let targets: TargetsService;

  beforeAll(async () => {
    t = await createTestApp();
    globalKey = await makeApiKey(t.ds, null);
    const tenant = await makeTenant(t.ds);
    tenantKey = await makeApiKey(t.ds, tenant.id);
    targets = t.app.get(TargetsService);
  });
  afterAll(async () => {
    await t.close();
  });

  const as = (key: string) => ({
    post: (path: string, body: object) => request(t.http).post(path).set('Authorization', `Bearer ${key}`).send(body),
    patch: (path: string, body: object) => request(t.http).patch(path).set('Authorization', `Bearer ${key}`).send(body),
    get: (path: string) => request(t.http).get(path).set('Authorization', `Bearer ${key}`),
    delete: (path: string) => request(t.http).delete(path).set('Authorization', `Bearer ${key}`),
  });
  const admin = () => as(globalKey);
  const countTargets = async () => Number((await t.ds.query(`SELECT count(*)::int AS n FROM targets`))[0].n);
  let n = 0;
  const slug = (p = 'mb') => `${p}-${process.pid}-${++n}`;

  const metabaseBody = (over: object = {}) => ({
    slug: slug(),
    kind: 'metabase',
    name: 'Metabase',
    baseUrl: 'https://metabase.example.com/',
    secret: METABASE_SECRET,
    embeddingSecret: EMBEDDING_SECRET,
    settings: { tenantsEnabled: true, tokenTtlSeconds: 120 },
    ...over,
  });

  describe('create', () => {
    it('stores a Metabase target with sealed secrets and never returns them', async () => {
      const body = metabaseBody();
      const res = await admin().post('/api/v1/targets', body).expect(201);
      expect(res.body).toMatchObject({
        slug: body.slug,
        kind: 'metabase',
        name: 'Metabase',
        baseUrl: 'https://metabase.example.com',
        settings: { tenantsEnabled: true, tokenTtlSeconds: 120 },
        disabled: false,
        hasSecret: true,
        secretsSet: ['embeddingSecret', 'secret'],
      });
      expect(Object.keys(res.body)).not.toEqual(expect.arrayContaining(['secret']));
      expect(res.text).not.toContain(METABASE_SECRET);
      expect(res.text).not.toContain(EMBEDDING_SECRET);

      // At rest: sealed, bound to this row and column (the contexts the SSO code opens with).
      const [{ secrets: row }] = await t.ds.query(`SELECT secrets FROM targets WHERE id = $1`, [res.body.id]);
      expect(JSON.stringify(row)).not.toContain(METABASE_SECRET);
      const box = t.app.get(SecretBox);
      expect(box.open(row.secret, `target:${res.body.id}:secret`)).toBe(METABASE_SECRET);
      expect(box.open(row.embeddingSecret, `target:${res.body.id}:embedding_secret`)).toBe(EMBEDDING_SECRET);
      expect(() => box.open(row.secret, `target:${res.body.id}:embedding_secret`)).toThrow();
      await expect(openTargetSecrets(t, res.body.id)).resolves.toEqual({ secret: METABASE_SECRET, embeddingSecret: EMBEDDING_SECRET });

      const [event] = await t.ds.query(`SELECT * FROM audit_events WHERE type = 'target.created' AND details->>'targetId' = $1`, [res.body.id]);
      expect(event.actor).toMatch(/^apikey:/);
      expect(JSON.stringify(event.details)).not.toContain(METABASE_SECRET);
    });

    it('keeps a base path and refuses what is not a plain http(s) base URL', async () => {
      const ok = await admin().post('/api/v1/targets', metabaseBody({ baseUrl: 'http://bi.internal:8080/metabase//' })).expect(201);
      expect(ok.body.baseUrl).toBe('http://bi.internal:8080/metabase');
      for (const baseUrl of ['metabase.example.com', '/relative', 'ftp://metabase.example.com', 'https://m.example.com/?a=1', 'https://m.example.com/#x', 'https://u:p@m.example.com']) {
        const before = await countTargets();
        const res = await admin().post('/api/v1/targets', metabaseBody({ baseUrl })).expect(400);
        expect(res.body.message).toMatch(/baseUrl/);
        expect(await countTargets()).toBe(before);
      }
    });

    it('refuses a short secret with 400 naming it, without echoing it', async () => {
      // Metabase's keys are 64 hex characters; an HMAC key under 32 is guessable offline.
      const short = 'short-secret-0123456789abcdef';
      const res = await admin().post('/api/v1/targets', metabaseBody({ secret: short })).expect(400);
      expect(res.body.error).toBe('invalid_target');
      expect(res.body.details.problems).toEqual([expect.stringMatching(/\(secret\) is too short: at least 32 characters/)]);
      expect(res.text).not.toContain(short);
      const res2 = await admin().post('/api/v1/targets', metabaseBody({ embeddingSecret: 'abcdefghij0123456789' })).expect(400);
      expect(res2.body.message).toMatch(/\(embeddingSecret\) is too short: at least 32/);
      await admin().post('/api/v1/targets', metabaseBody({ secret: `${METABASE_SECRET}\n` })).expect(400);
    });

    it('requires the secret and refuses an embedding secret for a product that has none', async () => {
      const { secret: _omit, ...noSecret } = metabaseBody();
      expect((await admin().post('/api/v1/targets', noSecret).expect(400)).body.message).toMatch(/secret/);
      const res = await admin()
        .post('/api/v1/targets', { slug: slug('sis'), kind: 'sisense', baseUrl: 'https://sisense.example.com', secret: SISENSE_SECRET, embeddingSecret: EMBEDDING_SECRET })
        .expect(400);
      expect(res.body.message).toBe('embeddingSecret is not used by sisense targets');
    });

    it('lists every settings problem from the product definition', async () => {
      const res = await admin()
        .post('/api/v1/targets', metabaseBody({ settings: { tokenTtlSeconds: 5, colour: 'blue', allowedOrigins: ['not a url'] } }))
        .expect(400);
      expect(res.body.details.problems).toEqual(
        expect.arrayContaining([
          'settings.colour is not a known setting',
          expect.stringMatching(/^settings\.tokenTtlSeconds must be a whole number from 60 to 600/),
          expect.stringMatching(/^settings\.allowedOrigins\[0\] must be an origin like https:\/\/app\.example\.com/),
        ]),
      );
    });

    it('validates slug, kind and unknown fields', async () => {
      expect((await admin().post('/api/v1/targets', metabaseBody({ slug: 'Bad_Slug' })).expect(400)).body.message).toMatch(/Slug must be/);
      expect((await admin().post('/api/v1/targets', metabaseBody({ slug: '-x' })).expect(400)).body.message).toMatch(/Slug/);
      expect((await admin().post('/api/v1/targets', metabaseBody({ kind: 'mode-analytics' })).expect(400)).body.message).toMatch(/Product must be one of metabase, sisense, databricks/);
      expect((await admin().post('/api/v1/targets', metabaseBody({ colour: 'blue' })).expect(400)).body.message).toMatch(/"colour" is not a field this accepts/);
      expect((await admin().post('/api/v1/targets', metabaseBody({ settings: ['x'] })).expect(400)).body.message).toMatch(/Settings/);
      expect((await admin().post('/api/v1/targets', metabaseBody({ secret: 12345678901234567 })).expect(400)).body.message).toMatch(/Secret must be text/);
    });

    it('answers 409 for a duplicate slug, also when two creates race', async () => {
      const body = metabaseBody();
      await admin().post('/api/v1/targets', body).expect(201);
      const dup = await admin().post('/api/v1/targets', { ...body, kind: 'sisense', embeddingSecret: undefined, settings: {} }).expect(409);
      expect(dup.body.error).toBe('target_slug_taken');

      const racing = metabaseBody();
      const results = await Promise.all([1, 2, 3].map(() => admin().post('/api/v1/targets', racing)));
      expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409]);
    });

    it('creates Sisense and Databricks targets', async () => {
      const sis = await admin()
        .post('/api/v1/targets', { slug: slug('sis'), kind: 'sisense', baseUrl: 'https://sisense.example.com', secret: SISENSE_SECRET, settings: { emailClaim: 'email' } })
        .expect(201);
      expect(sis.body).toMatchObject({ kind: 'sisense', hasSecret: true, secretsSet: ['secret'], name: '' });
      const dbx = await admin()
        .post('/api/v1/targets', {
          slug: slug('dbx'),
          kind: 'databricks',
          baseUrl: 'https://adb-123.azuredatabricks.net',
          secret: 'dbx-service-principal-secret-1234',
          settings: { clientId: 'abc-123', workspaceId: '123456' },
        })
        .expect(201);
      expect(dbx.body.settings).toEqual({ clientId: 'abc-123', workspaceId: '123456' });
    });
  });

  describe('read', () => {
    it('lists and gets targets with hasSecret flags only', async () => {
      const created = (await admin().post('/api/v1/targets', metabaseBody({ embeddingSecret: undefined })).expect(201)).body;
      const list = await admin().get('/api/v1/targets').expect(200);
      const item = list.body.items.find((x: { id: string }) => x.id === created.id);
      expect(item).toMatchObject({ hasSecret: true, secretsSet: ['secret'] });
      expect(list.text).not.toMatch(/secret_?enc|secretEnc|mb-jwt-secret/i);
      const one = await admin().get(`/api/v1/targets/${created.id}`).expect(200);
      expect(one.body).toEqual(item);
      expect(Object.keys(one.body).sort()).toEqual(
        ['baseUrl', 'createdAt', 'disabled', 'hasSecret', 'id', 'kind', 'name', 'secretsSet', 'settings', 'slug', 'updatedAt'],
      );
      await expect(targets.findBySlug(created.slug)).resolves.toMatchObject({ id: created.id });
    });

    it('answers 404 for an unknown or malformed id', async () => {
      await admin().get('/api/v1/targets/00000000-0000-4000-8000-000000000000').expect(404);
      const res = await admin().get('/api/v1/targets/not-a-uuid').expect(404);
      expect(res.body.error).toBe('target_not_found');
    });
  });

  describe('update', () => {
    it('changes fields, keeps secrets not sent, replaces secrets sent', async () => {
      const created = (await admin().post('/api/v1/targets', metabaseBody()).expect(201)).body;
      const renamed = await admin().patch(`/api/v1/targets/${created.id}`, { name: 'Renamed', baseUrl: 'https://mb2.example.com/' }).expect(200);
      expect(renamed.body).toMatchObject({ name: 'Renamed', baseUrl: 'https://mb2.example.com', hasSecret: true, secretsSet: ['embeddingSecret', 'secret'] });
      await expect(openTargetSecrets(t, created.id)).resolves.toEqual({ secret: METABASE_SECRET, embeddingSecret: EMBEDDING_SECRET });

      const newSecret = 'rotated-jwt-secret-9e8d7c6b5a4f0123';
      const rotated = await admin().patch(`/api/v1/targets/${created.id}`, { secret: newSecret, embeddingSecret: null }).expect(200);
      expect(rotated.text).not.toContain(newSecret);
      expect(rotated.body).toMatchObject({ hasSecret: true, secretsSet: ['secret'] });
      await expect(openTargetSecrets(t, created.id)).resolves.toEqual({ secret: newSecret });

      const [event] = await t.ds.query(
        `SELECT details FROM audit_events WHERE type = 'target.updated' AND details->>'targetId' = $1 ORDER BY id DESC LIMIT 1`,
        [created.id],
      );
      expect(event.details.changed).toEqual(['secret', 'embeddingSecret']);
      expect(JSON.stringify(event.details)).not.toContain(newSecret);
    });

    it('replaces settings whole and checks them against the product', async () => {
      const created = (await admin().post('/api/v1/targets', metabaseBody()).expect(201)).body;
      const res = await admin().patch(`/api/v1/targets/${created.id}`, { settings: { groupsClaim: 'roles' } }).expect(200);
      expect(res.body.settings).toEqual({ groupsClaim: 'roles' });
      const bad = await admin().patch(`/api/v1/targets/${created.id}`, { settings: { tokenTtlSeconds: 99999 }, name: 'not applied' }).expect(400);
      expect(bad.body.message).toMatch(/settings\.tokenTtlSeconds/);
      const after = await admin().get(`/api/v1/targets/${created.id}`).expect(200);
      expect(after.body).toMatchObject({ name: 'Metabase', settings: { groupsClaim: 'roles' } });
    });

    it('re-checks settings and secrets when the kind changes', async () => {
      const created = (await admin().post('/api/v1/targets', metabaseBody({ settings: { groupsClaim: 'roles' } })).expect(201)).body;
      const bad = await admin().patch(`/api/v1/targets/${created.id}`, { kind: 'sisense' }).expect(400);
      expect(bad.body.message).toMatch(/settings\.groupsClaim is not a known setting/);
      const ok = await admin().patch(`/api/v1/targets/${created.id}`, { kind: 'sisense', settings: {} }).expect(200);
      // Sisense has no embedding secret: the Metabase one is dropped with the kind.
      expect(ok.body).toMatchObject({ kind: 'sisense', hasSecret: true, secretsSet: ['secret'] });
    });

    // The README's own placeholder must never be stored as a real key, even in production.
    it.each([
      ['secret', '<JWT shared secret>'],
      ['secret', 'changeme-changeme-changeme-changeme'],
      ['secret', 'your-secret-here-please-replace-it-now'],
      ['secret', 'x'.repeat(64)],
      ['secret', 'secret'],
      ['embeddingSecret', '<embedding secret key, 64 hex characters long>'],
      ['embeddingSecret', 'xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx-xxxx'],
    ])('refuses a placeholder %s %j with a 400 naming the field, storing nothing', async (field, value) => {
      const before = await countTargets();
      const res = await admin().post('/api/v1/targets', metabaseBody({ [field]: value })).expect(400);
      expect(res.body.message).toMatch(new RegExp(`^[^(]+ \\(${field}\\) is (an example value|too short)`));
      if (value.length > 10) expect(res.text).not.toContain(value);
      expect(await countTargets()).toBe(before);
      const existing = (await admin().post('/api/v1/targets', metabaseBody()).expect(201)).body;
      const patched = await admin().patch(`/api/v1/targets/${existing.id}`, { secrets: { [field]: value } }).expect(400);
      expect(patched.body.message).toMatch(new RegExp(`^[^(]+ \\(secrets\\.${field}\\) is (an example value|too short)`));
    });

    it('refuses bad values, a taken slug, an empty patch and a removed secret', async () => {
      const a = (await admin().post('/api/v1/targets', metabaseBody()).expect(201)).body;
      const b = (await admin().post('/api/v1/targets', metabaseBody()).expect(201)).body;
      expect((await admin().patch(`/api/v1/targets/${a.id}`, { slug: b.slug }).expect(409)).body.error).toBe('target_slug_taken');
      expect((await admin().patch(`/api/v1/targets/${a.id}`, {}).expect(400)).body.error).toBe('empty_update');
      expect((await admin().patch(`/api/v1/targets/${a.id}`, { secret: 'too-short-abcdef' }).expect(400)).body.message).toMatch(/\(secret\) is too short: at least 32/);
      expect((await admin().patch(`/api/v1/targets/${a.id}`, { secret: null }).expect(400)).body.message).toMatch(/Secret must be text/);
      expect((await admin().patch(`/api/v1/targets/${a.id}`, { baseUrl: 'https://x.example.com?q=1' }).expect(400)).body.message).toMatch(/baseUrl/);
      expect((await admin().patch(`/api/v1/targets/${a.id}`, { disabled: 'yes' }).expect(400)).body.message).toMatch(/Disabled/);
      await admin().patch('/api/v1/targets/00000000-0000-4000-8000-000000000000', { name: 'x' }).expect(404);
      await expect(openTargetSecrets(t, a.id)).resolves.toEqual({ secret: METABASE_SECRET, embeddingSecret: EMBEDDING_SECRET });
      const renamedSlug = slug();
      expect((await admin().patch(`/api/v1/targets/${a.id}`, { slug: renamedSlug, disabled: true }).expect(200)).body).toMatchObject({ slug: renamedSlug, disabled: true });
    });
  });

  describe('delete', () => {
    it('deletes the target with its grants, audits it and notifies', async () => {
      const created = (await admin().post('/api/v1/targets', metabaseBody()).expect(201)).body;
      const tenant = await makeTenant(t.ds);
      await grantAccess(t.ds, tenant.id, created.id);
      await admin().delete(`/api/v1/targets/${created.id}`).expect(204);
      await admin().get(`/api/v1/targets/${created.id}`).expect(404);
      expect(await t.ds.query(`SELECT 1 FROM tenant_target_access WHERE target_id = $1`, [created.id])).toEqual([]);
      const events = await t.ds.query(`SELECT details FROM audit_events WHERE type = 'target.deleted' AND details->>'targetId' = $1`, [created.id]);
      expect(events).toHaveLength(1);
      await admin().delete(`/api/v1/targets/${created.id}`).expect(404);
      await expect(openTargetSecrets(t, created.id)).rejects.toMatchObject({ status: 404 });
    });
  });

  describe('protection', () => {
    it('needs a global key for every target route', async () => {
      const created = (await admin().post('/api/v1/targets', metabaseBody()).expect(201)).body;
      const scoped = as(tenantKey);
      for (const res of [
        await scoped.post('/api/v1/targets', metabaseBody()),
        await scoped.get('/api/v1/targets'),
        await scoped.get(`/api/v1/targets/${created.id}`),
        await scoped.patch(`/api/v1/targets/${created.id}`, { name: 'x' }),
        await scoped.delete(`/api/v1/targets/${created.id}`),
      ]) {
        expect(res.status).toBe(403);
        expect(res.body.error).toBe('global_key_required');
      }
      await request(t.http).get('/api/v1/targets').expect(401);
      await request(t.http).get('/api/v1/targets').set('Authorization', 'Bearer eidp_not-a-real-key-at-all').expect(401);
      await admin().get(`/api/v1/targets/${created.id}`).expect(200);
    });
  });
});
