import { randomBytes } from 'node:crypto';
import request, { Response } from 'supertest';
import { ApiKeysService } from '../../src/auth/api-keys.service';
import { logTap } from '../../src/common/logging';
import { createTestApp, TestApp } from '../setup/app';
import { createDatabase, dropDatabase } from '../setup/test-db';

const secret = (label: string, bytes = 18) => `${label}-${randomBytes(bytes).toString('hex')}`;

/**
 * Secrets are write-only: whatever an admin sends (target secrets, passwords, keys) and
 * whatever authenticates a call (the Bearer key) must never come back in a response or reach
 * a log line, at the most verbose log level, on success and on every kind of refusal.
 */
describe('secrets never leak', () => {
  let t: TestApp;
  const lines: string[] = [];
  const responses: { label: string; text: string }[] = [];
  const onLine = (line: string) => lines.push(line);
  const bootstrapKey = secret('bootstrap', 24);

  const record = (label: string) => (res: Response) => {
    responses.push({ label, text: `${JSON.stringify(res.headers)}\n${res.text ?? ''}` });
    return res;
  };

  beforeAll(async () => {
    t = await createTestApp({ env: { LOG_LEVEL: 'debug', BOOTSTRAP_ADMIN_KEY: bootstrapKey } });
    logTap.on('line', onLine);
  });
  afterAll(async () => {
    logTap.off('line', onLine);
    await t.close();
  });

  it('in an admin session that sends secrets, no response (but the key\'s own creation) and no log line carries one', async () => {
    const s = {
      targetSecret: secret('target-secret'),
      embeddingSecret: secret('embedding-secret'),
      rotatedSecret: secret('rotated-secret'),
      rotatedEmbedding: secret('rotated-embedding'),
      shortSecret: 'tooshort-secret',
      badSettingsSecret: secret('bad-settings-secret'),
      password: secret('password'),
      newPassword: secret('new-password'),
      shortPassword: 'short-pw-11',
      wrongKey: `eidp_${randomBytes(32).toString('base64url')}`,
    };
    const as = (key: string) => ({ Authorization: `Bearer ${key}` });
    const boot = as(bootstrapKey);

    const tenant = (await request(t.http).post('/api/v1/tenants').set(boot).send({ slug: 'secretive', name: 'Secretive' }).then(record('tenant'))).body;
    expect(tenant.id).toBeDefined();

    const target = await request(t.http)
      .post('/api/v1/targets')
      .set(boot)
      .send({ slug: 'mb-secret', kind: 'metabase', baseUrl: 'https://mb.example.com', secret: s.targetSecret, embeddingSecret: s.embeddingSecret })
      .then(record('create target'));
    expect(target.status).toBe(201);
    const refusals = [
      await request(t.http).post('/api/v1/targets').set(boot)
        .send({ slug: 'mb-short', kind: 'metabase', baseUrl: 'https://mb.example.com', secret: s.shortSecret })
        .then(record('short secret')),
      await request(t.http).post('/api/v1/targets').set(boot)
        .send({ slug: 'mb-bad', kind: 'metabase', baseUrl: 'https://mb.example.com', secret: s.badSettingsSecret, settings: { nope: true } })
        .then(record('bad settings')),
      await request(t.http).post('/api/v1/targets').set(boot)
        .send({ slug: 'mb-secret', kind: 'metabase', baseUrl: 'https://mb.example.com', secret: s.badSettingsSecret })
        .then(record('duplicate')),
      await request(t.http).patch(`/api/v1/targets/${target.body.id}`).set(boot).send({ secret: s.shortSecret }).then(record('short rotate')),
    ];
    expect(refusals.map((r) => r.status)).toEqual([400, 400, 409, 400]);
    expect((await request(t.http).patch(`/api/v1/targets/${target.body.id}`).set(boot)
      .send({ secret: s.rotatedSecret, embeddingSecret: s.rotatedEmbedding }).then(record('rotate'))).status).toBe(200);
    expect((await request(t.http).get(`/api/v1/targets/${target.body.id}`).set(boot).then(record('get target'))).status).toBe(200);
    expect((await request(t.http).get('/api/v1/targets').set(boot).then(record('list targets'))).status).toBe(200);

    const user = await request(t.http).post(`/api/v1/tenants/${tenant.id}/users`).set(boot)
      .send({ email: 'quiet@secretive.example', password: s.password }).then(record('create user'));
    expect(user.status).toBe(201);
    expect((await request(t.http).put(`/api/v1/tenants/${tenant.id}/users/${user.body.id}/password`).set(boot)
      .send({ password: s.newPassword }).then(record('set password'))).status).toBe(204);
    expect((await request(t.http).post(`/api/v1/tenants/${tenant.id}/users`).set(boot)
      .send({ email: 'short@secretive.example', password: s.shortPassword }).then(record('short password'))).status).toBe(400);

    const created = await request(t.http).post('/api/v1/api-keys').set(boot).send({ name: 'ci' }).then(record('create key'));
    expect(created.status).toBe(201);
    const newKey: string = created.body.key;
    expect((await request(t.http).get('/api/v1/api-keys').set(as(newKey)).then(record('list keys'))).status).toBe(200);
    expect((await request(t.http).get(`/api/v1/audit-events?limit=500`).set(as(newKey)).then(record('audit'))).status).toBe(200);
    // A key in a query string is refused (unknown parameter) and must not be logged from the URL either.
    expect((await request(t.http).get(`/api/v1/audit-events?key=${newKey}`).set(boot).then(record('key in query'))).status).toBe(400);
    expect((await request(t.http).get('/api/v1/targets').set(as(s.wrongKey)).then(record('wrong key'))).status).toBe(401);
    expect((await request(t.http).get('/api/v1/targets').set('Authorization', s.targetSecret).then(record('malformed auth'))).status).toBe(401);

    // The tap saw this session (debug level logs every request), so silence below means something.
    expect(lines.some((l) => l.includes('/api/v1/targets'))).toBe(true);
    expect(lines.some((l) => l.includes('"statusCode":401'))).toBe(true);
    expect(lines.some((l) => l.includes('/api/v1/audit-events?key=[redacted]'))).toBe(true);

    const everything = { ...s, bootstrapKey, newKey };
    for (const [name, value] of Object.entries(everything)) {
      expect({ name, logLines: lines.filter((l) => l.includes(value)) }).toEqual({ name, logLines: [] });
      const carrying = responses.filter((r) => r.text.includes(value)).map((r) => r.label);
      // The new key's plaintext is in its creation response, by design, and nowhere else.
      expect({ name, responses: carrying }).toEqual({ name, responses: name === 'newKey' ? ['create key'] : [] });
    }
    const audit = JSON.stringify(await t.ds.query(`SELECT * FROM audit_events`));
    for (const [name, value] of Object.entries(everything)) expect({ name, inAudit: audit.includes(value) }).toEqual({ name, inAudit: false });
  });
});

describe('BOOTSTRAP_ADMIN_KEY', () => {
  let db: { name: string; url: string };
  let t: TestApp | undefined;

  beforeEach(async () => {
    db = await createDatabase();
  });
  afterEach(async () => {
    await t?.close({ keepDatabase: true });
    t = undefined;
    await dropDatabase(db.name);
  });

  /** Restarts the app on the same database with this value of the variable. */
  const restartWith = async (value: string | undefined) => {
    await t?.close({ keepDatabase: true });
    t = await createTestApp({ database: db, env: { BOOTSTRAP_ADMIN_KEY: value } });
  };
  const status = async (key: string) => (await request(t!.http).get('/api/v1/api-keys').set('Authorization', `Bearer ${key}`)).status;

  it('works after start, is replaced by another value, survives a restart without the variable, and is revoked only by BOOTSTRAP_ADMIN_KEY=revoke', async () => {
    const first = secret('first-bootstrap', 16);
    const second = secret('second-bootstrap', 16);

    await restartWith(first);
    expect(await status(first)).toBe(200);
    const list = await request(t!.http).get('/api/v1/api-keys').set('Authorization', `Bearer ${first}`).expect(200);
    expect(list.body.items).toEqual([expect.objectContaining({ name: 'bootstrap (BOOTSTRAP_ADMIN_KEY)', tenantId: null })]);
    expect(list.text).not.toContain(first.slice(0, 8));
    // A global key: it may create tenants.
    await request(t!.http).post('/api/v1/tenants').set('Authorization', `Bearer ${first}`).send({ slug: 'boot', name: 'Boot' }).expect(201);

    const state = () => t!.app.get(ApiKeysService).bootstrapState;
    expect(state()).toBe('active');
    await restartWith(second);
    expect(state()).toBe('replaced');
    expect(await status(first)).toBe(401);
    expect(await status(second)).toBe(200);

    await restartWith(second);
    expect(state()).toBe('active');
    expect(await status(second)).toBe(200);

    // Unset: left as it is (a restart without the variable used to revoke it silently).
    await restartWith(undefined);
    expect(state()).toBe('kept');
    expect(await status(second)).toBe(200);
    expect(await status(first)).toBe(401);

    await restartWith('revoke');
    expect(state()).toBe('revoked');
    expect(await status(second)).toBe(401);
    await restartWith(undefined);
    expect(state()).toBe('none');
    expect(await status(second)).toBe(401);
  });

  it('refuses to start with a value too short to be a key, naming the variable but not the value', async () => {
    const weak = 'admin-admin';
    const failed = await createTestApp({ database: db, env: { BOOTSTRAP_ADMIN_KEY: weak } }).then(
      (app) => {
        t = app;
        return undefined;
      },
      (err: Error) => err,
    );
    expect(failed?.message).toMatch(/BOOTSTRAP_ADMIN_KEY: must be at least 24 characters/);
    expect(failed?.message).not.toContain(weak);
  });
});
