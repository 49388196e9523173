import { FakePowerBi, startFakePowerBi } from './powerbi';

/**
 * The fake refuses what Microsoft refuses: a wrong client secret or id, a token it did not
 * issue or one that expired, a GenerateToken body without the report's dataset, without the
 * effective identity its row-level security needs (or with one it does not take), with
 * unknown roles or asking to edit, and at the embed page a token it did not issue or issued
 * for another report. Otherwise a broker could pass against it and fail against Power BI.
 */
const TENANT = '0b8e2c9a-6a7e-4a59-a5b1-1a2b3c4d5e6f';
const CLIENT = '6f1c2a44-1d1e-4c8e-9d6c-2a8b9c1d0e7f';
const SECRET = 'Xq58Q~fake.entra.client.secret-0123456789';
const WS = 'be8908da-da25-452e-b220-163f52476cdd';
const REPORT = 'f6bfd646-b718-44dc-a378-b73e6b528204';
const REPORT_RLS = '0a3c39e5-7dbe-4cdc-a8b4-3e8a1d3c9f11';
const DATASET = 'cfafbeb1-8037-4d0c-896e-a46fb27ff229';
const DATASET_RLS = '3a9e7c1d-2b4f-4e6a-9c8d-7f0e1a2b3c4d';
const SCOPE = 'https://analysis.windows.net/powerbi/api/.default';

describe('fake Power BI (Entra + REST API + embed page)', () => {
  let pbi: FakePowerBi;

  beforeAll(async () => {
    pbi = await startFakePowerBi({
      tenantId: TENANT,
      clientId: CLIENT,
      clientSecret: SECRET,
      workspaceId: WS,
      reports: { [REPORT]: DATASET, [REPORT_RLS]: DATASET_RLS },
      rlsDatasets: { [DATASET_RLS]: ['Customer', 'Manager'] },
    });
  });
  afterAll(() => pbi.close());

  const entra = (fields: Record<string, string>, tenant = TENANT) =>
    fetch(`${pbi.url}/${tenant}/oauth2/v2.0/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
  const good = { grant_type: 'client_credentials', client_id: CLIENT, client_secret: SECRET, scope: SCOPE };
  const login = async () => ((await (await entra(good)).json()) as { access_token: string }).access_token;
  const getReport = (bearer: string, id = REPORT, ws = WS) => fetch(`${pbi.url}/v1.0/myorg/groups/${ws}/reports/${id}`, { headers: { authorization: `Bearer ${bearer}` } });
  const generate = (bearer: string, body: unknown) =>
    fetch(`${pbi.url}/v1.0/myorg/GenerateToken`, { method: 'POST', headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const check = (token: unknown, reportId: string) =>
    fetch(`${pbi.url}/fake/embed-check`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token, reportId }) });
  const plain = { reports: [{ id: REPORT }], datasets: [{ id: DATASET }] };
  const rls = { reports: [{ id: REPORT_RLS }], datasets: [{ id: DATASET_RLS }], identities: [{ username: 'ada@acme.example', roles: ['Customer'], datasets: [DATASET_RLS] }] };

  describe('Entra client credentials', () => {
    it('issues a token for the right client id, secret, tenant and scope', async () => {
      const res = await entra(good);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ token_type: 'Bearer', expires_in: expect.any(Number), access_token: expect.any(String) });
    });

    it.each([
      ['a wrong secret', { client_secret: 'not-the-secret-0123456789' }, 401, 'invalid_client'],
      ['a wrong client id', { client_id: '00000000-0000-0000-0000-000000000000' }, 400, 'unauthorized_client'],
      ['another grant', { grant_type: 'password' }, 400, 'unsupported_grant_type'],
      ['another scope', { scope: 'https://graph.microsoft.com/.default' }, 400, 'invalid_scope'],
    ])('refuses %s', async (_what, over, status, error) => {
      const res = await entra({ ...good, ...over });
      expect(res.status).toBe(status);
      expect(await res.json()).toMatchObject({ error, error_description: expect.stringMatching(/^AADSTS\d+/) });
    });

    it('refuses another Entra tenant', async () => {
      const res = await entra(good, '11111111-2222-3333-4444-555555555555');
      expect(res.status).toBe(400);
    });
  });

  describe('REST API bearer', () => {
    it('answers the report (embedUrl on app.powerbi.com, its dataset) for a token it issued', async () => {
      const res = await getReport(await login());
      expect(res.status).toBe(200);
      const body = (await res.json()) as { embedUrl: string; datasetId: string };
      expect(body.datasetId).toBe(DATASET);
      expect(new URL(body.embedUrl).origin).toBe('https://app.powerbi.com');
      expect(new URL(body.embedUrl).searchParams.get('reportId')).toBe(REPORT);
    });

    it('refuses a token it did not issue, and an expired one', async () => {
      expect((await getReport('eyJ0eXAi.forged')).status).toBe(403);
      const token = await login();
      pbi.expireEntraTokens();
      const res = await getReport(token);
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ error: { code: 'TokenExpired' } });
      expect((await generate(token, plain)).status).toBe(403);
    });

    it('404s a report not in the workspace', async () => {
      const token = await login();
      expect((await getReport(token, '99999999-9999-4999-8999-999999999999')).status).toBe(404);
      expect((await getReport(token, REPORT, '99999999-9999-4999-8999-999999999999')).status).toBe(404);
    });
  });

  describe('GenerateToken', () => {
    it('issues a view token for the report and its dataset, and for RLS with an effective identity', async () => {
      const token = await login();
      for (const body of [plain, rls]) {
        const res = await generate(token, body);
        expect(res.status).toBe(200);
        const minted = (await res.json()) as { token: string; tokenId: string; expiration: string };
        expect(minted.tokenId).toMatch(/^[0-9a-f-]{36}$/);
        expect(Date.parse(minted.expiration)).toBeGreaterThan(Date.now());
        expect(pbi.embedTokens.get(minted.token)?.tokenId).toBe(minted.tokenId);
      }
    });

    it.each([
      ['the dataset missing', { reports: [{ id: REPORT }], datasets: [] }, /dataset .* is missing/],
      ['no datasets at all', { reports: [{ id: REPORT }] }, /is missing from datasets/],
      ['an edit token', { ...plain, reports: [{ id: REPORT, allowEdit: true }] }, /only view/],
      ['identities missing on an RLS dataset', { reports: [{ id: REPORT_RLS }], datasets: [{ id: DATASET_RLS }] }, /effective identity is required/],
      ['an identity without roles', { ...rls, identities: [{ username: 'ada@acme.example', roles: [], datasets: [DATASET_RLS] }] }, /no roles/],
      ['an identity with an unknown role', { ...rls, identities: [{ username: 'ada@acme.example', roles: ['Admin'], datasets: [DATASET_RLS] }] }, /roles not in the dataset: Admin/],
      ['an identity without a username', { ...rls, identities: [{ roles: ['Customer'], datasets: [DATASET_RLS] }] }, /no username/],
      ['an identity naming another dataset', { ...rls, identities: [{ username: 'ada@acme.example', roles: ['Customer'], datasets: [DATASET] }] }, /must name the dataset/],
      ['an identity on a dataset without RLS', { ...plain, identities: [{ username: 'ada@acme.example', roles: ['Customer'], datasets: [DATASET] }] }, /no effective identity may be sent/],
      ['an unknown field', { ...plain, accessLevel: 'Edit' }, /unexpected fields accessLevel/],
    ])('refuses %s', async (_what, body, message) => {
      const res = await generate(await login(), body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(message);
    });
  });

  describe('embed page check', () => {
    it('takes a token it issued for that report, refuses a tampered, foreign or cross-report one', async () => {
      const token = await login();
      const minted = (await (await generate(token, plain)).json()) as { token: string };
      expect((await check(minted.token, REPORT)).status).toBe(200);
      const tampered = `${minted.token.slice(0, -2)}${minted.token.endsWith('AA') ? 'BB' : 'AA'}`;
      expect((await check(tampered, REPORT)).status).toBe(403);
      expect((await check('H4sIAAAAAAAEACforeign', REPORT)).status).toBe(403);
      const res = await check(minted.token, REPORT_RLS);
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ reason: 'the embed token is for another report' });
    });

    it('serves an embed page that speaks the SDK protocol', async () => {
      const res = await fetch(`${pbi.url}/reportEmbed?reportId=${REPORT}&groupId=${WS}&uid=abc`);
      const page = await res.text();
      expect(page).toContain("'/report/load'");
      expect(page).toContain('/events/rendered');
      expect(page).toContain('/events/error');
    });
  });
});
