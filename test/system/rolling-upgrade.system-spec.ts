import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataSource } from 'typeorm';
import { targetSecretContext } from '../../src/catalog/target-secrets';
import { SecretBox } from '../../src/crypto/secret-box';
import { createDataSource } from '../../src/database/data-source';
import { grantAccess, makeApiKey, makeTenant, makeUser } from '../factories';
import { createDatabase, dropDatabase } from '../setup/test-db';
import { signInOver } from '../support/cookie-jar';
import { listTs, transpileTree } from '../support/service-build';
import { ServiceProcess, startService, stopService } from '../support/service-process';

/**
 * Expand/contract (README "Rolling upgrades"): during an upgrade the previous release's pods
 * keep serving on the database the new release's migrations have changed. The previous
 * release here is the code just before the last mainline commit that changed migrations/
 * (so the schema under test is really newer than it); its sources come out of git, are
 * compiled next to this one's node_modules, and run against a database migrated by THIS
 * code, beside this code's own process: health, sign-in, handshakes, admin reads, a session
 * made by one version used on the other.
 */
const ROOT = path.join(__dirname, '..', '..');
const PASSWORD = 'correct horse battery staple';
const MB_SECRET = 'upgrade-metabase-secret-0123456789abcdef';
const FAKE_BI = 'http://bi.invalid';

const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

/** The previous release's commit, or why there is none to test here. */
function previousRelease(): { commit: string; subject: string } | string {
  try {
    if (git('rev-parse', '--is-shallow-repository') === 'true') return 'the clone is shallow (git fetch --unshallow to run it)';
    const changed = git('log', '--first-parent', '-n1', '--format=%H', '--', 'migrations');
    if (!changed) return 'no commit changed migrations/';
    const commit = git('rev-parse', '--verify', '--quiet', `${changed}^1`);
    return { commit, subject: git('log', '-n1', '--format=%h %s', commit) };
  } catch (err) {
    return `no git history here (${(err as Error).message.split('\n')[0]})`;
  }
}

const previous = previousRelease();
if (typeof previous === 'string') console.warn(`rolling-upgrade.system-spec: SKIPPED, ${previous}`);

(typeof previous === 'string' ? describe.skip : describe)('rolling upgrade: the previous release on the new schema, beside the new release', () => {
  const { commit, subject } = previous as { commit: string; subject: string };
  let dir: string;
  let db: { name: string; url: string };
  let ds: DataSource;
  let oldService: ServiceProcess | undefined;
  let newService: ServiceProcess | undefined;
  const env = { SSO_SESSION_BURST: '1000', SSO_SESSION_RATE: '1000' };

  beforeAll(async () => {
    // The previous release's sources (git archive: no worktree, no checkout), built like ours.
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'embed-idp-previous-'));
    const tar = execFileSync('git', ['archive', '--format=tar', commit, 'src', 'migrations', 'tsconfig.json', 'package.json'], { cwd: ROOT, maxBuffer: 256 * 1024 * 1024 });
    execFileSync('tar', ['-x', '-C', dir], { input: tar });
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    const files = ['src', 'migrations'].flatMap((d) => listTs(path.join(dir, d))).sort();
    transpileTree(dir, files, path.join(dir, 'build'));
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'build', 'node_modules'));
    const ours = new Set(listTs(path.join(ROOT, 'migrations')).map((f) => path.basename(f)));
    const theirs = new Set(listTs(path.join(dir, 'migrations')).map((f) => path.basename(f)));
    console.log(`previous release ${subject}: ${[...ours].filter((m) => !theirs.has(m)).length} migration(s) newer than it`);

    // Migrated by this code (the test template is), as the migration Job would before the pods roll.
    db = await createDatabase();
    ds = createDataSource(db.url, 2);
    await ds.initialize();
  }, 120_000);

  afterAll(async () => {
    await Promise.all([stopService(oldService, 5_000), stopService(newService, 5_000)]);
    if (ds?.isInitialized) await ds.destroy();
    if (db) await dropDatabase(db.name);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('the schema holds migrations the previous release does not have', async () => {
    const names: { name: string }[] = await ds.query(`SELECT name FROM migrations`);
    const theirs = listTs(path.join(dir, 'migrations')).map((f) => path.basename(f, '.ts'));
    // Class names end with the timestamp; files start with it.
    const theirStamps = new Set(theirs.map((f) => f.split('-')[0]));
    expect(names.filter((n) => !theirStamps.has(n.name.slice(-13))).length).toBeGreaterThan(0);
  });

  it('both versions serve at once: health, sign-in, handshakes, admin reads; a session from one works on the other', async () => {
    const tenant = await makeTenant(ds);
    const user = await makeUser(ds, tenant.id, { password: PASSWORD, groups: ['analysts'] });
    const adminKey = await makeApiKey(ds);
    const box = new SecretBox(Buffer.from(process.env.SECRETS_KEY!, 'hex'));
    const [target] = await ds.query(`INSERT INTO targets (slug, kind, name, base_url, settings) VALUES ('metabase', 'metabase', 'MB', $1, '{}') RETURNING id`, [FAKE_BI]);
    await ds.query(`UPDATE targets SET secrets = jsonb_build_object('secret', $2::text) WHERE id = $1`, [target.id, box.seal(MB_SECRET, targetSecretContext(target.id, 'secret'))]);
    await grantAccess(ds, tenant.id, target.id, { groupMappings: { analysts: ['Viewers'] } });

    // The old one first: it starts on a database whose migrations table lists ones it has never heard of.
    oldService = await startService(db.url, { env, main: path.join(dir, 'build', 'src', 'main.js') });
    newService = await startService(db.url, { env: { ...env, MIGRATE_ON_START: 'off' } });

    const smoke = async (s: ServiceProcess, cookie: string) => {
      const ready = await fetch(`${s.url}/health/ready`);
      const sso = await fetch(`${s.url}/sso/metabase?return_to=/dashboard/1`, { headers: { cookie }, redirect: 'manual' });
      const tenants = await fetch(`${s.url}/api/v1/tenants`, { headers: { Authorization: `Bearer ${adminKey}` } });
      return {
        ready: ready.status,
        sso: `${sso.status} ${new URL(sso.headers.get('location') ?? 'http://x/').searchParams.has('jwt') ? 'jwt' : 'no-jwt'}`,
        tenants: tenants.status,
        listed: JSON.stringify(await tenants.json()).includes(tenant.slug),
      };
    };
    const ok = { ready: 200, sso: '302 jwt', tenants: 200, listed: true };
    for (const [made, other] of [
      [oldService, newService],
      [newService, oldService],
    ]) {
      const login = await signInOver(made.url, { tenant: tenant.slug, email: user.email, password: PASSWORD });
      expect(login.status).toBe(303);
      expect(await smoke(made, login.cookie!)).toEqual(ok);
      expect(await smoke(other, login.cookie!)).toEqual(ok);
    }
    const errors = (s: ServiceProcess) => s.output.join('').split('\n').filter((l) => /"level":(50|60)/.test(l));
    expect(errors(oldService)).toEqual([]);
    expect(errors(newService)).toEqual([]);
    expect((await ds.query(`SELECT count(*)::int AS n FROM issued_tokens`))[0].n).toBe(4);
  }, 180_000);
});
