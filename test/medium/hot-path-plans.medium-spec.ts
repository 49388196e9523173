import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { OPEN_SQL, RESOLVE_SQL } from '../../src/auth/sessions.service';
import { OWNERS_OF_SQL } from '../../src/identities/identities.service';
import { CONSUME_AND_FIND_SQL } from '../../src/inbound/handoff.service';
import { ISSUER_LOOKUP_SQL } from '../../src/inbound/issuer-lookup';
import { HANDOFF_LOAD_SQL, LOAD_SQL, SESSION_AND_TARGET_SQL } from '../../src/issuance/sso.repository';
import { TOKEN_RECORD_SQL, tokenRecordParams, TokenRecordInput } from '../../src/issuance/token-record';
import { createTestModule, TestModule } from '../setup/module';

/** `v` as an SQL literal for EXECUTE (arrays as Postgres array literals). */
function literal(c: Client, v: unknown): string {
  if (Array.isArray(v)) return c.escapeLiteral(`{${v.map((x) => (x === null ? 'NULL' : `"${String(x).replace(/["\\]/g, (m) => `\\${m}`)}"`)).join(',')}}`);
  return v === null ? 'NULL' : c.escapeLiteral(String(v));
}

/**
 * The hot path's statements run as cached generic plans (plan_cache_mode=force_generic_plan,
 * data-source.ts) over unnested batches. A generic plan does not know the batch size, and for
 * a plain join of the unnest Postgres chose to hash whole tables (a sequential scan of
 * sessions, targets or email_domains on every handshake batch). With tables of a realistic
 * size, every statement must reach those tables through their indexes only.
 */
describe('hot-path statements at scale: index probes, never a sequential scan of a big table', () => {
  let t: TestModule;
  let c: Client;
  let tenantId: string;
  const BIG = ['tenants', 'trusted_issuers', 'handoff_secrets', 'sessions', 'users', 'targets', 'tenant_target_access', 'bi_identities', 'email_domains', 'issued_tokens', 'audit_events', 'iat_sequences'];

  beforeAll(async () => {
    t = await createTestModule({});
    const [tenant] = await t.ds.query(`INSERT INTO tenants (slug, name) VALUES ('plans', 'Plans') RETURNING id`);
    tenantId = tenant.id;
    await t.ds.query(`INSERT INTO users (tenant_id, email, first_name, last_name) SELECT $1, 'u' || i || '@plans.example.com', 'A', 'B' FROM generate_series(1, 20000) i`, [tenantId]);
    await t.ds.query(`INSERT INTO sessions (id, user_id, tenant_id, expires_at) SELECT md5(id::text) || md5(id::text), id, tenant_id, now() + interval '1 day' FROM users WHERE tenant_id = $1`, [tenantId]);
    await t.ds.query(`INSERT INTO targets (slug, kind, name, base_url, settings) SELECT 'plan-t' || i, 'metabase', 'T', 'https://mb' || i || '.plans.example.com', '{}' FROM generate_series(1, 2000) i`);
    await t.ds.query(`INSERT INTO tenant_target_access (tenant_id, target_id) SELECT $1, id FROM targets WHERE slug LIKE 'plan-t%'`, [tenantId]);
    await t.ds.query(`INSERT INTO bi_identities (instance, email, tenant_id, claimed_via) SELECT 'https://mb1.plans.example.com', email, tenant_id, 'sso' FROM users WHERE tenant_id = $1`, [tenantId]);
    await t.ds.query(`INSERT INTO email_domains (domain, tenant_id) SELECT 'd' || i || '.plans.example.com', $1 FROM generate_series(1, 2000) i`, [tenantId]);
    await t.ds.query(`INSERT INTO issued_tokens (jti, target_id, tenant_id, user_id, iat, exp)
                      SELECT gen_random_uuid(), (SELECT id FROM targets WHERE slug = 'plan-t1'), tenant_id, id, 1, 2 FROM users WHERE tenant_id = $1`, [tenantId]);
    // Many organizations, each with a hand-off secret and a trusted issuer: the hand-off's issuer lookup must probe them.
    await t.ds.query(`INSERT INTO tenants (slug, name) SELECT 'plan-org' || i, 'Org' FROM generate_series(1, 5000) i`);
    await t.ds.query(`INSERT INTO handoff_secrets (id, tenant_id, secret_enc) SELECT gen_random_uuid(), id, 'sealed' FROM tenants WHERE slug LIKE 'plan-org%'`);
    await t.ds.query(`INSERT INTO trusted_issuers (tenant_id, issuer, audience) SELECT id, 'https://idp.' || slug || '.example.com/', 'app' FROM tenants WHERE slug LIKE 'plan-org%'`);
    await t.ds.query('ANALYZE');
    c = new Client({ connectionString: t.db.url, options: '-c plan_cache_mode=force_generic_plan' });
    await c.connect();
  }, 120_000);
  afterAll(async () => {
    await c.end();
    await t.close();
  });

  /** The plan of `sql` run as a prepared statement with `values` (rolled back). */
  async function plan(name: string, sql: string, values: unknown[]): Promise<string> {
    await c.query(`PREPARE ${name} AS ${sql}`);
    await c.query('BEGIN');
    try {
      const rows = await c.query(`EXPLAIN (ANALYZE, COSTS OFF) EXECUTE ${name}(${values.map((v) => literal(c, v)).join(', ')})`);
      return rows.rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
    } finally {
      await c.query('ROLLBACK');
    }
  }
  const seqScans = (p: string) => BIG.filter((table) => new RegExp(`Seq Scan on ${table}\\b`).test(p));

  it('session lookup', async () => {
    const ids = (await t.ds.query(`SELECT id FROM sessions WHERE tenant_id = $1 LIMIT 5`, [tenantId])).map((r: { id: string }) => r.id);
    const p = await plan('resolve', RESOLVE_SQL, [ids, 3600]);
    expect(p).toMatch(/rows=5/);
    expect(seqScans(p)).toEqual([]);
  });

  it('target load, and the fast path\'s session + target read', async () => {
    const users = await t.ds.query(`SELECT u.id, s.id AS session_id FROM users u JOIN sessions s ON s.user_id = u.id WHERE u.tenant_id = $1 LIMIT 5`, [tenantId]);
    const slugs = users.map((_: unknown, i: number) => `plan-t${i + 1}`);
    const load = await plan('load', LOAD_SQL, [slugs, users.map(() => tenantId), users.map((u: { id: string }) => u.id)]);
    expect(seqScans(load)).toEqual([]);
    const both = await plan('session_and_target', SESSION_AND_TARGET_SQL, [users.map((u: { session_id: string }) => u.session_id), slugs, 3600]);
    expect(both).toMatch(/rows=5/);
    expect(seqScans(both)).toEqual([]);
  });

  it("a hand-off's batched statements: issuers, tenant state, jti claims with users, identity owners, sessions", async () => {
    const users = await t.ds.query(`SELECT u.id, u.email, s.id AS session_id FROM users u JOIN sessions s ON s.user_id = u.id WHERE u.tenant_id = $1 LIMIT 5`, [tenantId]);
    const five = <T>(v: T) => users.map(() => v);
    // Trusted issuers and the tenant of a slug with its hand-off state: one statement.
    const issuers = await plan('issuers', ISSUER_LOOKUP_SQL, [['https://idp.plan-org7.example.com/', 'plan-org9', 'plans', 'nope']]);
    expect(issuers).toMatch(/rows=4\b/);
    expect(seqScans(issuers)).toEqual([]);
    const claims = await plan('claims', CONSUME_AND_FIND_SQL, [five(tenantId), users.map(() => randomUUID()), five(1_900_000_000), users.map((u: { email: string }) => u.email), five(null)]);
    expect(claims).toMatch(/Insert on handoff_consumed_assertions/);
    expect(seqScans(claims)).toEqual([]);
    // The hand-off's precheck: the target with the owners of the user's email on every instance.
    const slugs = users.map((_: unknown, i: number) => `plan-t${i + 1}`);
    const handoffLoad = await plan('handoff_load', HANDOFF_LOAD_SQL, [slugs, five(tenantId), users.map((u: { id: string }) => u.id), users.map((u: { email: string }) => u.email)]);
    expect(handoffLoad).toMatch(/rows=5/);
    expect(handoffLoad).toMatch(/Index Scan using ix_bi_identities_email on bi_identities/);
    expect(seqScans(handoffLoad)).toEqual([]);
    const owners = await plan('owners', OWNERS_OF_SQL, [five('https://mb1.plans.example.com'), users.map((u: { email: string }) => u.email)]);
    expect(owners).toMatch(/rows=5/);
    expect(seqScans(owners)).toEqual([]);
    const open = await plan('open', OPEN_SQL, [
      users.map(() => randomUUID().replace(/-/g, '').repeat(2)),
      users.map((u: { id: string }) => u.id),
      five(tenantId),
      five(3600),
      five(null),
      five(null),
      five('handoff'),
      users.map((u: { session_id: string }) => u.session_id),
      five('handoff.accepted'),
      five('anonymous'),
      five(null),
      five(null),
      five('{}'),
    ]);
    expect(open).toMatch(/Insert on sessions/);
    expect(seqScans(open)).toEqual([]);
  });

  it('token record (identity claim, iat sequence, token, audit event, session mark)', async () => {
    const users = await t.ds.query(`SELECT u.id, u.email, s.id AS session_id FROM users u JOIN sessions s ON s.user_id = u.id WHERE u.tenant_id = $1 LIMIT 5`, [tenantId]);
    const [target] = await t.ds.query(`SELECT id FROM targets WHERE slug = 'plan-t1'`);
    const inputs: TokenRecordInput[] = users.map((u: { id: string; email: string; session_id: string }) => ({
      jti: randomUUID(),
      targetId: target.id,
      tenantId,
      userId: u.id,
      sessionId: u.session_id,
      now: 1_800_000_000,
      ttlSeconds: 60,
      iatKey: { scope: 'sisense:https://mb1.plans.example.com|', subject: u.email },
      identity: { instance: 'https://mb1.plans.example.com', email: u.email },
      markSessionTarget: true,
      audit: { type: 'sso.token_issued', actor: `user:${u.id}`, ip: null, requestId: null, details: {} },
    }));
    const p = await plan('record', TOKEN_RECORD_SQL, tokenRecordParams(inputs));
    expect(p).toMatch(/Insert on issued_tokens/);
    expect(seqScans(p)).toEqual([]);
  });
});

/**
 * A new BI instance's identities are claimed on the first handshakes, long before autovacuum
 * refreshes bi_identities' statistics. The plan made while the table still looked empty must
 * still find the owner by its primary key: through the tenant's index it filtered every
 * identity of the tenant on every handshake (0.3 ms per token at 1,000 identities, growing
 * with the tenant).
 */
describe('token record while bi_identities statistics are stale', () => {
  let t: TestModule;
  let c: Client;

  beforeAll(async () => {
    t = await createTestModule({});
    await t.ds.query('ANALYZE');
    c = new Client({ connectionString: t.db.url, options: '-c plan_cache_mode=force_generic_plan' });
    await c.connect();
  }, 120_000);
  afterAll(async () => {
    await c.end();
    await t.close();
  });

  it('probes the owner by (instance, email), not by the tenant', async () => {
    const [tenant] = await t.ds.query(`INSERT INTO tenants (slug, name) VALUES ('stale', 'Stale') RETURNING id`);
    const users = await t.ds.query(
      `INSERT INTO users (tenant_id, email, first_name, last_name) SELECT $1, 'u' || i || '@stale.example.com', 'A', 'B' FROM generate_series(1, 2000) i RETURNING id, email`,
      [tenant.id],
    );
    await t.ds.query(`INSERT INTO bi_identities (instance, email, tenant_id, claimed_via) SELECT 'https://mb.stale.example.com', email, tenant_id, 'sso' FROM users WHERE tenant_id = $1`, [tenant.id]);
    const [target] = await t.ds.query(`INSERT INTO targets (slug, kind, name, base_url, settings) VALUES ('stale-mb', 'metabase', 'T', 'https://mb.stale.example.com', '{}') RETURNING id`);
    const input: TokenRecordInput = {
      jti: randomUUID(),
      targetId: target.id,
      tenantId: tenant.id,
      userId: users[7].id,
      sessionId: null,
      now: 1_800_000_000,
      ttlSeconds: 60,
      identity: { instance: 'https://mb.stale.example.com', email: users[7].email },
      markSessionTarget: false,
      audit: { type: 'sso.token_issued', actor: `user:${users[7].id}`, ip: null, requestId: null, details: {} },
    };
    await c.query(`PREPARE record AS ${TOKEN_RECORD_SQL}`);
    await c.query('BEGIN');
    try {
      const values = tokenRecordParams([input]).map((col) => literal(c, col));
      const p = (await c.query(`EXPLAIN (ANALYZE, COSTS OFF) EXECUTE record(${values.join(', ')})`)).rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
      expect(p).toMatch(/Insert on issued_tokens/);
      expect(p).not.toMatch(/ix_bi_identities_tenant/);
      expect(p).not.toMatch(/Seq Scan on bi_identities/);
    } finally {
      await c.query('ROLLBACK');
    }
  });
});
