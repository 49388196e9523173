import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { SecretBox } from '../../src/crypto/secret-box';
import { handoffSecretContext } from '../../src/inbound/hs256/handoff-keys';
import { targetSecretContext } from '../../src/catalog/target-secrets';
import { createDatabase, dropDatabase } from '../setup/test-db';
import { signAssertion } from '../support/handoff';
import { OidcProviderProcess, startOidcProvider } from '../support/oidc-provider';
import { ServiceProcess, startService, stopService } from '../support/service-process';

/**
 * One assertion, 100 concurrent submissions, spread over TWO processes of the service on one
 * database (as when it runs scaled out): exactly one signs in. What makes it so is the
 * (tenant, jti) primary key of the consumed-assertion INSERT, not anything in one process.
 */
const SECRET = 'race-handoff-secret-0123456789abcdef0123';
const METABASE = 'https://metabase.race.example';

describe('hand-off replay race across two processes', () => {
  let db: { name: string; url: string };
  let pg: Client;
  const services: ServiceProcess[] = [];
  let tenantSlug: string;
  let op: OidcProviderProcess;

  beforeAll(async () => {
    db = await createDatabase();
    const secretsKey = randomBytes(32).toString('hex');
    pg = new Client({ connectionString: db.url });
    await pg.connect();
    const box = new SecretBox(Buffer.from(secretsKey, 'hex'));
    tenantSlug = `race-${randomBytes(3).toString('hex')}`;
    const { rows: [tenant] } = await pg.query(`INSERT INTO tenants (slug, name) VALUES ($1, 'Race') RETURNING id`, [tenantSlug]);
    await pg.query(`INSERT INTO users (tenant_id, email) VALUES ($1, 'racer@host.example')`, [tenant.id]);
    // The host app's own OIDC provider, trusted by the tenant (its ID tokens hand off too).
    op = await startOidcProvider();
    await pg.query(`INSERT INTO trusted_issuers (tenant_id, issuer, audience) VALUES ($1, $2, 'race-app')`, [tenant.id, op.issuer]);
    const { rows: [secret] } = await pg.query(`INSERT INTO handoff_secrets (tenant_id, secret_enc) VALUES ($1, 'pending') RETURNING id`, [tenant.id]);
    await pg.query(`UPDATE handoff_secrets SET secret_enc = $2 WHERE id = $1`, [secret.id, box.seal(SECRET, handoffSecretContext(tenant.id, secret.id))]);
    const { rows: [target] } = await pg.query(`INSERT INTO targets (slug, kind, name, base_url, settings) VALUES ('mb', 'metabase', 'MB', $1, '{}') RETURNING id`, [METABASE]);
    await pg.query(`UPDATE targets SET secrets = jsonb_build_object('secret', $2::text) WHERE id = $1`, [target.id, box.seal('race-metabase-secret-0123456789abcdef', targetSecretContext(target.id, 'secret'))]);
    await pg.query(`INSERT INTO tenant_target_access (tenant_id, target_id) VALUES ($1, $2)`, [tenant.id, target.id]);
    // Both at once: start-up is the slow part of this test.
    const start = () => startService(db.url, { env: { SECRETS_KEY: secretsKey } });
    services.push(...(await Promise.all([start(), start()])));
  }, 180_000);

  afterAll(async () => {
    await Promise.all([...services.map((s) => stopService(s)), op?.stop()]);
    await pg?.end();
    if (db) await dropDatabase(db.name);
  }, 60_000);

  it('100 concurrent submissions of one assertion: exactly one session and one token, 99 audited replays', async () => {
    const assertion = signAssertion(SECRET, tenantSlug, { email: 'racer@host.example' });
    const body = new URLSearchParams({ assertion, return_to: '/dashboard/1' }).toString();
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        fetch(`${services[i % 2].url}/sso/mb`, {
          method: 'POST',
          redirect: 'manual',
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
          body,
        }).then(async (r) => ({ status: r.status, location: r.headers.get('location'), cookie: r.headers.get('set-cookie'), process: i % 2 })),
      ),
    );
    const statuses = results.reduce<Record<number, number>>((acc, r) => ({ ...acc, [r.status]: (acc[r.status] ?? 0) + 1 }), {});
    expect(statuses).toEqual({ 302: 1, 401: 99 });
    const winner = results.find((r) => r.status === 302)!;
    expect(winner.location).toMatch(new RegExp(`^${METABASE}/auth/sso\\?jwt=`));
    expect(winner.cookie).toContain('eidp_session=');
    expect(results.filter((r) => r.status === 401 && r.cookie)).toEqual([]);

    const n = async (sql: string) => Number((await pg.query(sql)).rows[0].n);
    expect(await n(`SELECT count(*) AS n FROM sessions`)).toBe(1);
    expect(await n(`SELECT count(*) AS n FROM issued_tokens`)).toBe(1);
    expect(await n(`SELECT count(*) AS n FROM handoff_consumed_assertions`)).toBe(1);
    expect(await n(`SELECT count(*) AS n FROM audit_events WHERE type = 'handoff.accepted'`)).toBe(1);
    expect(await n(`SELECT count(*) AS n FROM audit_events WHERE type = 'handoff.replay'`)).toBe(99);
  }, 120_000);

  it("50 concurrent submissions of one trusted issuer's ID token (no jti: accepted once by its hash): exactly one accepted", async () => {
    const n = async (sql: string) => Number((await pg.query(sql)).rows[0].n);
    const before = { sessions: await n(`SELECT count(*) AS n FROM sessions`), accepted: await n(`SELECT count(*) AS n FROM audit_events WHERE type = 'handoff.accepted'`) };
    const now = Math.floor(Date.now() / 1000);
    const token = await op.sign({ sub: 'racer', aud: 'race-app', iat: now, exp: now + 300, email: 'racer@host.example' });
    const body = new URLSearchParams({ assertion: token, return_to: '/dashboard/2' }).toString();
    const statuses = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        fetch(`${services[i % 2].url}/sso/mb`, {
          method: 'POST',
          redirect: 'manual',
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
          body,
        }).then((r) => r.status),
      ),
    );
    const tally = statuses.reduce<Record<number, number>>((acc, s) => ({ ...acc, [s]: (acc[s] ?? 0) + 1 }), {});
    expect(tally).toEqual({ 302: 1, 401: 49 });
    expect(await n(`SELECT count(*) AS n FROM sessions`)).toBe(before.sessions + 1);
    expect(await n(`SELECT count(*) AS n FROM audit_events WHERE type = 'handoff.accepted'`)).toBe(before.accepted + 1);
    // Its key, and the previous release's key for it (taken too while both may run).
    expect(await n(`SELECT count(*) AS n FROM handoff_consumed_assertions WHERE jti LIKE 'oidc:%'`)).toBe(2);
  }, 120_000);
});
