import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { TARGET_DEFINITIONS } from '../../src/products';
import { makeApiKey, makeTenant } from '../factories';
import { createTestApp, TestApp } from '../setup/app';

/**
 * Every product definition through the real admin API, whatever products exist: a target
 * with every setting and every secret round-trips (secrets never come back), the access
 * settings likewise, and the OpenAPI description carries the product's schemas.
 */
describe('every target definition through the admin API', () => {
  let t: TestApp;
  let key: string;
  let tenant: { id: string };
  let docs: { components: { schemas: Record<string, { properties: Record<string, { oneOf?: { title: string; properties: object }[] }> }> } };

  beforeAll(async () => {
    t = await createTestApp();
    key = await makeApiKey(t.ds, null);
    tenant = await makeTenant(t.ds);
    docs = (await request(t.http).get('/api/docs-json').expect(200)).body;
  });
  afterAll(() => t.close());

  const admin = (method: 'get' | 'post' | 'put' | 'patch', path: string) => request(t.http)[method](`/api/v1${path}`).set('Authorization', `Bearer ${key}`);

  it.each(TARGET_DEFINITIONS.map((d) => [d.kind, d] as const))('%s: settings and secrets round-trip, secrets never returned', async (kind, def) => {
    const secrets = Object.fromEntries(def.secrets.map((s) => [s.name, `${kind}-${s.name}-${randomBytes(24).toString('hex')}`]));
    const slug = `def-${kind}-${randomBytes(3).toString('hex')}`;
    const created = await admin('post', '/targets').send({ slug, kind, baseUrl: def.examples.baseUrl, secrets, settings: def.examples.settings }).expect(201);
    expect(created.body.settings).toEqual(def.examples.settings);
    expect(created.body.secretsSet).toEqual(Object.keys(secrets).sort());
    const read = await admin('get', `/targets/${created.body.id}`).expect(200);
    const list = await admin('get', '/targets').expect(200);
    for (const text of [created.text, read.text, list.text]) for (const value of Object.values(secrets)) expect(text).not.toContain(value);
    expect(read.body.settings).toEqual(def.examples.settings);

    const access = await admin('put', `/tenants/${tenant.id}/access/${created.body.id}`).send({ settings: def.examples.accessSettings }).expect(201);
    expect(access.body.settings).toEqual(def.examples.accessSettings);
    const listed = await admin('get', `/tenants/${tenant.id}/access`).expect(200);
    expect(listed.body.items.find((a: { targetId: string }) => a.targetId === created.body.id).settings).toEqual(def.examples.accessSettings);

    // Required secrets cannot be left out; unknown ones are refused, naming them.
    // (A product signing with key pairs we generate may have none.)
    const required = def.secrets.find((s) => s.required);
    if (required) {
      const missing = await admin('post', '/targets').send({ slug: `${slug}-x`, kind, baseUrl: def.examples.baseUrl, secrets: { ...secrets, [required.name]: undefined }, settings: def.examples.settings }).expect(400);
      expect(missing.body.message).toContain(`${required.name === 'secret' ? 'secret' : `secrets.${required.name}`} is required for ${kind} targets`);
    }
    const unknown = await admin('post', '/targets').send({ slug: `${slug}-y`, kind, baseUrl: def.examples.baseUrl, secrets: { ...secrets, notASecret: 'a'.repeat(40) } }).expect(400);
    expect(unknown.body.message).toContain(`secrets.notASecret is not used by ${kind} targets`);
  });

  it.each(TARGET_DEFINITIONS.map((d) => [d.kind, d] as const))('%s: the OpenAPI description carries its schemas', (_kind, def) => {
    const create = docs.components.schemas.CreateTargetDto.properties.settings.oneOf ?? [];
    expect(create.find((s) => s.title.startsWith(def.label))?.properties).toEqual(def.settingsSchema.properties);
    const access = docs.components.schemas.PutAccessDto.properties.settings.oneOf ?? [];
    expect(access.find((s) => s.title.startsWith(def.label))?.properties).toEqual(def.accessSettingsSchema.properties);
    const secrets = JSON.stringify(docs.components.schemas.CreateTargetDto.properties.secrets);
    for (const s of def.secrets) expect(secrets).toContain(s.name);
  });

  it('refuses a kind no definition has, and the database takes any kind as text (no CHECK listing them)', async () => {
    const res = await admin('post', '/targets').send({ slug: 'no-kind', kind: 'no-such-product', baseUrl: 'https://x.example.com', secrets: {} }).expect(400);
    expect(res.body.message).toMatch(/Product must be one of/);
    const [constraint] = await t.ds.query(`SELECT 1 FROM pg_constraint WHERE conname = 'ck_targets_kind'`);
    expect(constraint).toBeUndefined();
  });
});
