import { decodeJwt } from 'jose';
import { DataSource } from 'typeorm';
import { SecretBox } from '../../src/crypto/secret-box';
import { randomToken, sha256Hex } from '../../src/crypto/tokens';
import { createDataSource } from '../../src/database/data-source';
import { FakeSisense, startFakeSisense } from '../fakes/sisense';
import { grantAccess, makeTenant, makeUser } from '../factories';
import { createDatabase, dropDatabase } from '../setup/test-db';
import { ServiceProcess, startService as startServiceProcess, stopService } from '../support/service-process';

/**
 * Sisense denies an iat not later than the one of the user's previous session. Two service
 * processes on one database (as behind a load balancer) take 50 simultaneous logins of one
 * user: every token must carry its own jti and its own iat, and in iat order Sisense (the
 * fake) must accept all of them. The logins come from 10 sessions of that user (5 each), as
 * from several browsers: one session alone may not make 50 handshakes at once
 * (SSO_SESSION_BURST, README "Sisense").
 */
const SECRET = 'concurrency-sisense-secret-0123456789abcdef';
const PARALLEL = 50;
const SESSIONS = 10;
/** Each process's pool: 50 parallel logins through two processes. */
const startService = (databaseUrl: string) => startServiceProcess(databaseUrl, { env: { DB_POOL_SIZE: '10' } });

describe('Sisense SSO: 50 parallel logins of one user through two service processes', () => {
  let db: { name: string; url: string };
  let ds: DataSource;
  let services: ServiceProcess[] = [];
  let fake: FakeSisense;
  let targetSlug: string;
  const cookies: string[] = [];
  let email: string;

  beforeAll(async () => {
    fake = await startFakeSisense({ secret: SECRET });
    db = await createDatabase();
    ds = createDataSource(db.url, 2);
    await ds.initialize();

    const tenant = await makeTenant(ds);
    const user = await makeUser(ds, tenant.id, { groups: ['analysts'] });
    email = user.email;
    targetSlug = `sisense-${randomToken(4).toLowerCase().replace(/[^a-z0-9]/g, 'x')}`;
    const [target] = await ds.query(
      `INSERT INTO targets (slug, kind, name, base_url, settings) VALUES ($1, 'sisense', $1, $2, '{}') RETURNING id`,
      [targetSlug, fake.url],
    );
    const box = new SecretBox(Buffer.from(process.env.SECRETS_KEY!, 'hex'));
    await ds.query(`UPDATE targets SET secrets = jsonb_build_object('secret', $2::text) WHERE id = $1`, [target.id, box.seal(SECRET, `target:${target.id}:secret`)]);
    await grantAccess(ds, tenant.id, target.id, { groupMappings: { analysts: ['Viewers'] } });

    for (let i = 0; i < SESSIONS; i++) {
      const token = randomToken(32);
      await ds.query(
        `INSERT INTO sessions (id, user_id, tenant_id, expires_at) VALUES ($1, $2, $3, now() + interval '1 hour')`,
        [sha256Hex(token), user.id, tenant.id],
      );
      cookies.push(`eidp_session=${token}`);
    }

    // Sequentially: two ts-node start-ups at once on 2 cores only make both slower.
    services = [await startService(db.url)];
    services.push(await startService(db.url));
  }, 300_000);

  afterAll(async () => {
    await Promise.all(services.map((s) => stopService(s, 10_000)));
    await fake?.close();
    if (ds?.isInitialized) await ds.destroy();
    if (db) await dropDatabase(db.name);
  }, 60_000);

  it('issues 50 distinct jtis and 50 distinct, strictly increasing iats, all accepted in iat order', async () => {
    const responses = await Promise.all(
      Array.from({ length: PARALLEL }, (_, i) =>
        fetch(`${services[i % 2].url}/sso/${targetSlug}?return_to=${encodeURIComponent(`/app/main/dashboards/${i}`)}`, {
          headers: { cookie: cookies[i % SESSIONS] },
          redirect: 'manual',
        }),
      ),
    );
    const locations = responses.map((r) => {
      expect(r.status).toBe(302);
      return r.headers.get('location')!;
    });
    const tokens = locations.map((l) => {
      const u = new URL(l);
      expect(`${u.origin}${u.pathname}`).toBe(`${fake.url}/jwt`);
      return u.searchParams.get('jwt')!;
    });
    const claims = tokens.map((t) => decodeJwt(t));
    expect(new Set(claims.map((c) => c.jti)).size).toBe(PARALLEL);
    const iats = claims.map((c) => c.iat!);
    expect(iats.every((iat) => Number.isInteger(iat))).toBe(true);
    expect(new Set(iats).size).toBe(PARALLEL);

    // Every token was recorded (with its jti) before it left; both processes answered (i % 2).
    const [{ n }] = await ds.query(`SELECT count(*)::int AS n FROM issued_tokens`);
    expect(n).toBe(PARALLEL);

    // Each token carries exactly the iat recorded for its jti (the sequence value, not the clock).
    const recorded: { jti: string; iat: string }[] = await ds.query(`SELECT jti, iat FROM issued_tokens`);
    const recordedIat = new Map(recorded.map((r) => [r.jti, Number(r.iat)]));
    for (const c of claims) expect(recordedIat.get(c.jti as string)).toBe(c.iat);
    // 50 logins in about a second: the sequence runs at most ~50 s ahead of the clock.
    expect(Math.max(...iats) - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(PARALLEL + 5);

    const byIat = tokens.map((t, i) => ({ t, iat: iats[i], location: locations[i] })).sort((a, b) => a.iat - b.iat);
    for (const { location } of byIat) {
      const res = await fake.present(location);
      expect({ status: res.status, body: res.status === 302 ? null : res.body }).toEqual({ status: 302, body: null });
    }
    expect(fake.logins).toHaveLength(PARALLEL);
    expect(fake.lastIat(email)).toBe(byIat[PARALLEL - 1].iat);
    expect(fake.rejections).toEqual([]);
  });
});
