import { createHmac, randomUUID } from 'node:crypto';
import { FakeLooker, startFakeLooker } from './looker';

/**
 * The fake is only worth something if it refuses what Looker refuses: one broken URL per
 * rule of the README's Looker section, each assembled by hand and each refused, and the right
 * one accepted once.
 */
const SECRET = 'looker-embed-secret-0123456789abcdef0123456789abcdef';
const CLOCK = 1_800_000_000;
const EMBED = '/embed/dashboards/7?embed_domain=https://app.example.com&sdk=3';

type Params = Record<string, unknown>;
const params = (over: Params = {}): Params => ({
  nonce: randomUUID(), time: CLOCK, session_length: 3600, external_user_id: 'u-1a2b3c', permissions: ['access_data', 'see_user_dashboards'],
  models: ['thelook'], group_ids: [4], external_group_id: 'tenant-1', user_attributes: { customer_id: '42' }, access_filters: {},
  first_name: 'Ada', last_name: 'Lovelace', force_logout_login: true, ...over,
});
const LINES = ['nonce', 'time', 'session_length', 'external_user_id', 'permissions', 'models', 'group_ids', 'external_group_id', 'user_attributes', 'access_filters'];

/** A URL signed by hand; `tamper` changes a value after signing, `drop` leaves a parameter out (signed without it). */
function url(fake: FakeLooker, p: Params, o: { secret?: string; embed?: string; tamper?: Params; host?: string } = {}): string {
  const path = `/login/embed/${encodeURIComponent(o.embed ?? EMBED)}`;
  const json: Record<string, string> = {};
  for (const [k, v] of Object.entries(p)) if (v !== undefined) json[k] = JSON.stringify(v);
  const lines = [o.host ?? fake.host, path, ...LINES.filter((k) => json[k] !== undefined).map((k) => json[k])];
  const signature = createHmac('sha1', o.secret ?? SECRET).update(lines.join('\n')).digest('base64');
  for (const [k, v] of Object.entries(o.tamper ?? {})) json[k] = JSON.stringify(v);
  const q = Object.entries({ ...json, signature }).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
  return `${fake.url}${path}?${q}`;
}
const without = (key: string): Params => {
  const p = params();
  delete p[key];
  return p;
};

describe('fake Looker (enforces the contract in the README)', () => {
  let fake: FakeLooker;
  beforeAll(async () => {
    fake = await startFakeLooker({ secret: SECRET, models: ['thelook'], now: () => CLOCK });
  });
  afterAll(async () => {
    await fake.close();
  });

  const refused = async (u: string, reason: RegExp) => {
    const res = await fetch(u);
    expect(res.status).toBe(401);
    expect(await res.text()).toMatch(reason);
  };

  it('shows the dashboard for a URL made by the rules, once (the nonce is spent)', async () => {
    const u = url(fake, params());
    const res = await fetch(u);
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain("send('dashboard:loaded'");
    expect(page).toContain('"https://app.example.com", [channel.port2]');
    expect(fake.embeds[fake.embeds.length - 1]).toMatchObject({ embedUrl: EMBED, params: { external_user_id: 'u-1a2b3c', group_ids: [4] } });
    await refused(u, /nonce already used/);
  });

  it('takes a URL without the optional lines (group_ids, external_group_id, user_attributes), signed without them', async () => {
    const p = params({ group_ids: undefined, external_group_id: undefined, user_attributes: undefined, first_name: undefined, last_name: undefined, force_logout_login: undefined });
    expect((await fetch(url(fake, p))).status).toBe(200);
  });

  it.each(['nonce', 'time', 'session_length', 'external_user_id', 'permissions', 'models', 'access_filters'])('refuses a URL without %s', async (key) => {
    await refused(url(fake, without(key)), new RegExp(`missing ${key}`));
  });

  it('refuses a URL without a signature', async () => {
    await refused(url(fake, params()).replace(/&signature=[^&]*$/, ''), /missing signature/);
  });

  it.each<[string, Params]>([
    ['external_user_id', { external_user_id: 'someone-else' }],
    ['permissions', { permissions: ['access_data', 'see_user_dashboards', 'see_sql'] }],
    ['models', { models: ['thelook', 'finance'] }],
    ['group_ids', { group_ids: [1] }],
    ['external_group_id', { external_group_id: 'tenant-2' }],
    ['user_attributes', { user_attributes: { customer_id: '43' } }],
    ['access_filters', { access_filters: { thelook: { 'orders.customer_id': 43 } } }],
    ['session_length', { session_length: 2_592_000 }],
    ['time', { time: CLOCK + 1 }],
  ])('refuses a URL whose %s was changed after signing', async (_key, tamper) => {
    await refused(url(fake, params(), { tamper }), /signature does not match/);
  });

  it.each<[string, () => string]>([
    ['another secret', () => url(fake, params(), { secret: 'another-secret-0123456789abcdef0123456789abcdef' })],
    ['another host', () => url(fake, params(), { host: 'evil.example.com' })],
  ])('refuses a URL signed with %s', async (_why, u) => {
    await refused(u(), /signature does not match/);
  });

  it('refuses a URL whose embed path was changed after signing', async () => {
    const signed = url(fake, params());
    await refused(signed.replace(encodeURIComponent('/dashboards/7'), encodeURIComponent('/dashboards/8')), /signature does not match/);
  });

  it.each<[string, Params, RegExp]>([
    ['time more than 5 minutes ago', { time: CLOCK - 301 }, /more than 5 minutes off/],
    ['time more than 5 minutes ahead', { time: CLOCK + 301 }, /more than 5 minutes off/],
    ['time not whole seconds', { time: CLOCK + 0.5 }, /whole seconds/],
    ['a nonce longer than 255 characters', { nonce: 'n'.repeat(256) }, /nonce must be/],
    ['a session longer than 30 days', { session_length: 30 * 24 * 3600 + 1 }, /session_length/],
    ['an unknown permission', { permissions: ['access_data', 'be_admin'] }, /unknown permissions: be_admin/],
    ['no permission', { permissions: [] }, /at least one permission/],
    ['an unknown model', { models: ['finance'] }, /unknown models: finance/],
    ['group_ids as names', { group_ids: ['Analysts'] }, /group_ids must be numbers/],
    ['user_attributes a list', { user_attributes: ['42'] }, /user_attributes must be an object/],
    ['access_filters not an object', { access_filters: 'none' }, /access_filters must be an object/],
  ])('refuses a correctly signed URL with %s', async (_why, over, reason) => {
    await refused(url(fake, params(over)), reason);
  });

  it('refuses an embed URL outside /embed/', async () => {
    await refused(url(fake, params(), { embed: '/admin/users' }), /not under \/embed\//);
  });

  it('refuses a value that is not JSON', async () => {
    // Signed as sent (the raw text), so only the JSON check can refuse it.
    const p = params();
    const u = new URL(url(fake, p));
    const path = u.pathname;
    const json: Record<string, string> = {};
    for (const [k, v] of Object.entries(p)) json[k] = JSON.stringify(v);
    json.external_user_id = 'not-json';
    const lines = [fake.host, path, ...LINES.map((k) => json[k])];
    const signature = createHmac('sha1', SECRET).update(lines.join('\n')).digest('base64');
    const q = Object.entries({ ...json, signature }).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
    await refused(`${fake.url}${path}?${q}`, /external_user_id is not JSON/);
  });
});
