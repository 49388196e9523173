import { FakeDatabricks, startFakeDatabricks } from './databricks';

/**
 * The fake is only worth something if it refuses what Databricks refuses: each step of the
 * README's Databricks contract, broken one way at a time, is refused (and the right call,
 * sent as the broker sends it, is answered).
 */
const CLIENT = 'sp-client-id';
const SECRET = 'sp-secret-0123456789abcdef';
const DASH = '01efdashboard000000000000000000aa';

const basic = (id = CLIENT, secret = SECRET) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

describe('fake Databricks (enforces the contract in the README)', () => {
  let fake: FakeDatabricks;
  beforeAll(async () => {
    fake = await startFakeDatabricks({ clientId: CLIENT, clientSecret: SECRET, dashboards: [DASH] });
  });
  afterAll(async () => {
    await fake.close();
  });

  const tokenCall = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${fake.url}/oidc/v1/token`, { method: 'POST', headers: { Authorization: basic(), 'Content-Type': 'application/x-www-form-urlencoded', ...headers }, body });
  const serviceToken = async () => ((await (await tokenCall(form({ grant_type: 'client_credentials', scope: 'all-apis' }))).json()) as { access_token: string }).access_token;
  const tokenInfo = (bearer: string, query = 'external_viewer_id=viewer-1&external_value=acme%20%26%20co', dash = DASH) =>
    fetch(`${fake.url}/api/2.0/lakeview/dashboards/${dash}/published/tokeninfo?${query}`, { headers: { Authorization: `Bearer ${bearer}` } });
  /** Step 3's form as the broker sends it: every field of step 2, authorization_details as a JSON string. */
  const scopedForm = (info: Record<string, unknown>): Record<string, string> => ({
    grant_type: 'client_credentials',
    authorization_details: JSON.stringify(info.authorization_details),
    custom_claim: String(info.custom_claim),
    scope: String(info.scope),
  });

  it('answers the three steps sent as the contract says', async () => {
    const service = await serviceToken();
    expect(service).toMatch(/^dapi-all-/);
    const infoRes = await tokenInfo(service);
    expect(infoRes.status).toBe(200);
    const info = (await infoRes.json()) as Record<string, unknown>;
    expect(Array.isArray(info.authorization_details)).toBe(true);
    const scoped = await tokenCall(form(scopedForm(info)));
    expect(scoped.status).toBe(200);
    const body = (await scoped.json()) as { access_token: string; expires_in: number };
    expect(fake.scopedTokens.get(body.access_token)).toEqual({ dashboardId: DASH, externalViewerId: 'viewer-1', externalValue: 'acme & co' });
  });

  describe('step 1 (service principal token): refused', () => {
    it.each<[string, () => Promise<Response>, number]>([
      ['wrong secret', () => tokenCall(form({ grant_type: 'client_credentials', scope: 'all-apis' }), { Authorization: basic(CLIENT, 'not-the-secret') }), 401],
      ['wrong client id', () => tokenCall(form({ grant_type: 'client_credentials', scope: 'all-apis' }), { Authorization: basic('someone-else') }), 401],
      ['no Basic auth', () => tokenCall(form({ grant_type: 'client_credentials', scope: 'all-apis' }), { Authorization: '' }), 401],
      ['credentials in the form instead of Basic auth', () => tokenCall(form({ grant_type: 'client_credentials', scope: 'all-apis', client_id: CLIENT, client_secret: SECRET }), { Authorization: '' }), 401],
      ['another grant type', () => tokenCall(form({ grant_type: 'password', scope: 'all-apis' })), 400],
      ['missing grant type', () => tokenCall(form({ scope: 'all-apis' })), 400],
      ['an extra field', () => tokenCall(form({ grant_type: 'client_credentials', scope: 'all-apis', audience: 'x' })), 400],
      ['JSON instead of a form', () => tokenCall(JSON.stringify({ grant_type: 'client_credentials', scope: 'all-apis' }), { 'Content-Type': 'application/json' }), 400],
    ])('%s', async (_why, call, status) => {
      const before = fake.rejections.length;
      const res = await call();
      expect(res.status).toBe(status);
      expect(((await res.json()) as { access_token?: string }).access_token).toBeUndefined();
      expect(fake.rejections.length).toBe(before + 1);
    });
  });

  describe('step 2 (token info): refused', () => {
    it.each<[string, (service: string) => Promise<Response>, number]>([
      ['no bearer', () => fetch(`${fake.url}/api/2.0/lakeview/dashboards/${DASH}/published/tokeninfo?external_viewer_id=v&external_value=x`), 401],
      ['a bearer it never issued', () => tokenInfo('dapi-all-made-up'), 401],
      ['a scoped token instead of the all-apis one', async () => tokenInfo([...fake.scopedTokens.keys()][0] ?? 'none'), 401],
      ['missing external_viewer_id', (s) => tokenInfo(s, 'external_value=x'), 400],
      ['missing external_value', (s) => tokenInfo(s, 'external_viewer_id=v'), 400],
      ['an unknown dashboard', (s) => tokenInfo(s, 'external_viewer_id=v&external_value=x', '01efunknown'), 404],
    ])('%s', async (_why, call, status) => {
      const res = await call(await serviceToken());
      expect(res.status).toBe(status);
      expect(((await res.json()) as { authorization_details?: unknown }).authorization_details).toBeUndefined();
    });

    it('a revoked all-apis token', async () => {
      const service = await serviceToken();
      fake.revokeServiceTokens();
      expect((await tokenInfo(service)).status).toBe(401);
    });
  });

  describe('step 3 (scoped token): refused', () => {
    const withInfo = async () => (await (await tokenInfo(await serviceToken())).json()) as Record<string, unknown>;
    it.each<[string, (f: Record<string, string>) => Record<string, string>, Record<string, string>?, number?]>([
      ['authorization_details as a parsed value (form array), not a JSON string', (f) => ({ ...f, authorization_details: '[object Object]' })],
      ['authorization_details a JSON object, not the array', (f) => ({ ...f, authorization_details: JSON.stringify({ type: 'workspace_permission' }) })],
      ['authorization_details changed', (f) => ({ ...f, authorization_details: JSON.stringify([{ type: 'workspace_permission', object_type: 'dashboards', object_path: '/dashboards/other', actions: ['read'] }]) })],
      ['authorization_details missing', ({ authorization_details: _a, ...f }) => f],
      ['custom_claim missing', ({ custom_claim: _c, ...f }) => f],
      ['custom_claim not one step 2 gave', (f) => ({ ...f, custom_claim: 'claim-forged' })],
      ['scope changed', (f) => ({ ...f, scope: 'all-apis-but-not' })],
      ['another grant type', (f) => ({ ...f, grant_type: 'authorization_code' })],
      ['wrong secret', (f) => f, { Authorization: basic(CLIENT, 'wrong') }, 401],
    ])('%s', async (_why, breakIt, headers = {}, status = 400) => {
      const res = await tokenCall(form(breakIt(scopedForm(await withInfo()))), headers);
      expect(res.status).toBe(status);
      expect(((await res.json()) as { access_token?: string }).access_token).toBeUndefined();
    });
  });
});
