import type { BrokerRequest } from '../product-definition';
import { powerbi } from './powerbi';

/**
 * The Power BI broker without a network: what it sends where, and what of Microsoft's answers
 * it repeats. (Against the fake, end to end: test/medium/powerbi-broker.medium-spec.ts.)
 */
const REPORT = 'f6bfd646-b718-44dc-a378-b73e6b528204';
const DATASET = 'cfafbeb1-8037-4d0c-896e-a46fb27ff229';
const SECRET = 'Xq58Q~unit.entra.client.secret-0123456789';

interface Call {
  url: string;
  auth: string | undefined;
  body: string | undefined;
}

function recordingFetch(entraAnswer: () => Response = () => json({ access_token: `entra-${Math.random()}`, expires_in: 3599 })) {
  const calls: Call[] = [];
  const fetch = (async (input: string | URL, init: RequestInit = {}) => {
    const url = String(input);
    calls.push({ url, auth: new Headers(init.headers).get('authorization') ?? undefined, body: init.body === undefined ? undefined : String(init.body) });
    if (url.includes('/oauth2/v2.0/token')) return entraAnswer();
    if (url.includes('/reports/')) return json({ id: REPORT, datasetId: DATASET, embedUrl: `https://app.powerbi.com/reportEmbed?reportId=${REPORT}` });
    return json({ token: 'H4sI-embed', tokenId: '11111111-2222-4333-8444-555555555555', expiration: new Date(Date.now() + 3600_000).toISOString() });
  }) as typeof globalThis.fetch;
  return { calls, fetch };
}
const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

const request = (over: { apiHost?: string; authorityHost?: string; settings?: object; access?: object; groups?: string[] } = {}): BrokerRequest => {
  const settings = { tenantId: 'contoso.onmicrosoft.com', clientId: '6f1c2a44-1d1e-4c8e-9d6c-2a8b9c1d0e7f', workspaceId: 'be8908da-da25-452e-b220-163f52476cdd', apiHost: over.apiHost ?? 'https://api.powerbi.com', authorityHost: over.authorityHost ?? 'https://login.microsoftonline.com', ...over.settings };
  const target = { id: 'target-1', slug: 'pbi', baseUrl: 'https://app.powerbi.com', settings };
  return {
    target,
    secrets: { secret: SECRET },
    secretsVersion: 'v1',
    ctx: {
      target,
      access: { groupMappings: { analysts: ['Customer'] }, attributes: {}, settings: { reports: [REPORT], ...over.access } },
      tenant: { id: 'tn', slug: 'acme', name: 'Acme', attributes: {} },
      user: { id: 'u1', email: 'ada@acme.example', firstName: 'Ada', lastName: 'L', attributes: {} },
      groups: over.groups ?? ['analysts'],
    },
    resourceId: REPORT,
    viewerId: 'viewer',
  };
};

describe('Power BI broker', () => {
  it('logs in at the authority for the tenant with the Power BI scope, then sends the bearer only to the API host', async () => {
    const f = recordingFetch();
    const broker = powerbi.broker.create({ fetch: f.fetch, timeoutMs: 1000 });
    const minted = await broker.mint(request());
    expect(minted).toMatchObject({ jti: '11111111-2222-4333-8444-555555555555', body: { token: 'H4sI-embed', reportId: REPORT }, audit: { rowLevelSecurity: false } });
    expect(f.calls.map((c) => c.url)).toEqual([
      'https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token',
      `https://api.powerbi.com/v1.0/myorg/groups/be8908da-da25-452e-b220-163f52476cdd/reports/${REPORT}`,
      'https://api.powerbi.com/v1.0/myorg/GenerateToken',
    ]);
    expect(Object.fromEntries(new URLSearchParams(f.calls[0].body))).toEqual({ grant_type: 'client_credentials', client_id: '6f1c2a44-1d1e-4c8e-9d6c-2a8b9c1d0e7f', client_secret: SECRET, scope: 'https://analysis.windows.net/powerbi/api/.default' });
    expect(f.calls[0].auth).toBeUndefined();
  });

  it('never sends one API host\'s Entra token to another: a changed host logs in again', async () => {
    const f = recordingFetch();
    const broker = powerbi.broker.create({ fetch: f.fetch, timeoutMs: 1000 });
    await broker.mint(request());
    await broker.mint(request({ apiHost: 'https://api.powerbigov.us' }));
    const logins = f.calls.filter((c) => c.url.endsWith('/oauth2/v2.0/token'));
    expect(logins).toHaveLength(2);
    const first = f.calls.find((c) => c.url.startsWith('https://api.powerbi.com/'))!.auth;
    for (const c of f.calls.filter((x) => x.url.startsWith('https://api.powerbigov.us/'))) expect(c.auth).not.toBe(first);
  });

  it('repeats Entra\'s error code and AADSTS number, never its description (it may echo what was sent)', async () => {
    const f = recordingFetch(() => json({ error: 'invalid_client', error_description: `AADSTS7000215: Invalid client secret provided: ${SECRET}` }, 401));
    const broker = powerbi.broker.create({ fetch: f.fetch, timeoutMs: 1000 });
    const err = await broker.mint(request()).catch((e: Error) => e);
    expect(err).toMatchObject({ status: 502, code: 'powerbi_failed' });
    expect((err as Error).message).toBe("Power BI step 1 (Entra token) failed: HTTP 401 (invalid_client, AADSTS7000215): Entra refused the client id or secret (check both, and the secret's expiry)");
    expect(JSON.stringify(err)).not.toContain(SECRET);
  });

  it('an error code in an unexpected shape is not repeated either', async () => {
    const f = recordingFetch(() => json({ error: `bad ${SECRET}` }, 400));
    const broker = powerbi.broker.create({ fetch: f.fetch, timeoutMs: 1000 });
    await expect(broker.mint(request())).rejects.toThrow(/^Power BI step 1 \(Entra token\) failed: HTTP 400$/);
  });

  it('reports a redirect as a failed step, never following it (it would carry the secret)', async () => {
    const f = recordingFetch(() => new Response(null, { status: 302, headers: { location: 'http://169.254.169.254/' } }));
    const broker = powerbi.broker.create({ fetch: f.fetch, timeoutMs: 1000 });
    await expect(broker.mint(request())).rejects.toMatchObject({ status: 502, message: expect.stringMatching(/step 1 .*HTTP 302.*redirect, which is not followed/) });
    expect(f.calls).toHaveLength(1);
  });

  it('a tokenId that is not a GUID is refused (it becomes the ledger\'s jti)', async () => {
    const calls: string[] = [];
    const fetch = (async (input: string | URL) => {
      calls.push(String(input));
      if (String(input).includes('/oauth2/')) return json({ access_token: 'entra', expires_in: 3599 });
      if (String(input).includes('/reports/')) return json({ datasetId: DATASET, embedUrl: 'https://app.powerbi.com/reportEmbed' });
      return json({ token: 't', tokenId: "x'; DROP TABLE issued_tokens; --", expiration: new Date(Date.now() + 60_000).toISOString() });
    }) as typeof globalThis.fetch;
    await expect(powerbi.broker.create({ fetch, timeoutMs: 1000 }).mint(request())).rejects.toMatchObject({ status: 502, message: expect.stringMatching(/step 3 .*tokenId/) });
  });

  it('the report list: unlisted, absent or not a list allows nothing, and nothing is asked of Microsoft', async () => {
    const f = recordingFetch();
    const broker = powerbi.broker.create({ fetch: f.fetch, timeoutMs: 1000 });
    for (const reports of [[], ['5d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6'], undefined, REPORT]) {
      await expect(broker.mint(request({ access: { reports } }))).rejects.toMatchObject({ status: 403, code: 'report_not_allowed' });
    }
    await expect(broker.mint(request({ access: { reports: [REPORT.toUpperCase()] } }))).resolves.toBeDefined();
    expect(f.calls.filter((c) => c.url.includes('GenerateToken'))).toHaveLength(1);
  });

  it('previews the effective identity for the console, and refuses as the mint would', () => {
    const r = request({ access: { rowLevelSecurity: true } });
    expect(powerbi.broker.preview!(r.ctx)).toEqual({ reports: [{ id: REPORT }], identities: [{ username: 'ada@acme.example', roles: ['Customer'], datasets: ["(the report's dataset)"] }] });
    expect(() => powerbi.broker.preview!(request({ access: { rowLevelSecurity: true }, groups: ['interns'] }).ctx)).toThrow(/None of your groups/);
  });
});
