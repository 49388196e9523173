import { DomainError } from '../../common/errors';
import { databricks } from './databricks';
import type { BrokerRequest } from '../product-definition';

/** The broker against a recording fetch: what it asks of which workspace, and when it refuses. */
function recordingFetch() {
  const calls: { url: string; auth: string | null }[] = [];
  let n = 0;
  const fetch = (async (input: string | URL, init?: RequestInit) => {
    const url = String(input);
    calls.push({ url, auth: new Headers(init?.headers).get('authorization') });
    const host = new URL(url).host;
    const json = (body: object) => new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
    if (url.endsWith('/oidc/v1/token') && String(init?.body).includes('scope=all-apis')) return json({ access_token: `service-${host}-${++n}`, expires_in: 3600 });
    if (url.includes('/tokeninfo')) return json({ authorization_details: [{ type: 'workspace_permission' }], scope: 'dashboards.genie' });
    return json({ access_token: `scoped-${++n}`, expires_in: 600 });
  }) as typeof globalThis.fetch;
  return { calls, fetch };
}

const request = (over: { baseUrl?: string; dashboards?: unknown; clientId?: string } = {}): BrokerRequest => ({
  target: { id: 'target-1', slug: 'dbx', baseUrl: over.baseUrl ?? 'https://a.example.com', settings: { workspaceId: '1', clientId: over.clientId ?? 'client' } },
  secrets: { secret: 'sp-secret-0123456789' },
  secretsVersion: 'v1',
  ctx: {
    target: { id: 'target-1', slug: 'dbx', baseUrl: over.baseUrl ?? 'https://a.example.com', settings: {} },
    access: { groupMappings: {}, attributes: { customer: 'c1' }, settings: { externalValueAttribute: 'customer', ...(over.dashboards !== undefined ? { dashboards: over.dashboards } : {}) } },
    tenant: { id: 'tn', slug: 'acme', name: 'Acme', attributes: {} },
    user: { id: 'u1', email: 'ada@example.com', firstName: 'Ada', lastName: 'L', attributes: {} },
    groups: [],
  },
  resourceId: 'dash1',
  viewerId: 'viewer',
});

describe('databricks broker', () => {
  it('an empty dashboards list allows no dashboard (nothing asked of Databricks)', async () => {
    const f = recordingFetch();
    const broker = databricks.broker.create({ fetch: f.fetch, timeoutMs: 1000 });
    await expect(broker.mint(request({ dashboards: [] }))).rejects.toMatchObject({ code: 'dashboard_not_allowed', status: 403 });
    expect(f.calls).toEqual([]);
  });

  it('a listed dashboard is allowed; an unlisted one, or a list that is not a list, is not', async () => {
    const f = recordingFetch();
    const broker = databricks.broker.create({ fetch: f.fetch, timeoutMs: 1000 });
    await expect(broker.mint(request({ dashboards: ['dash1'] }))).resolves.toMatchObject({ body: { dashboardId: 'dash1' } });
    await expect(broker.mint(request({ dashboards: ['other'] }))).rejects.toBeInstanceOf(DomainError);
    await expect(broker.mint(request({ dashboards: 'dash1' }))).rejects.toMatchObject({ code: 'dashboard_not_allowed' });
    // No list at all: every dashboard the service principal may see (documented).
    await expect(broker.mint(request())).resolves.toMatchObject({ body: { dashboardId: 'dash1' } });
  });

  it('never sends one workspace\'s service token to another: the cache is keyed by the base URL (and client id)', async () => {
    const f = recordingFetch();
    const broker = databricks.broker.create({ fetch: f.fetch, timeoutMs: 1000 });
    await broker.mint(request({ baseUrl: 'https://a.example.com' }));
    await broker.mint(request({ baseUrl: 'https://b.example.com' }));
    const toB = f.calls.filter((c) => c.url.startsWith('https://b.example.com/'));
    expect(toB.filter((c) => c.url.endsWith('/oidc/v1/token'))).toHaveLength(2); // its own step 1, then step 3
    for (const c of toB) expect(c.auth ?? '').not.toContain('service-a.example.com');
    // Another client id on the same workspace: a token of its own too.
    await broker.mint(request({ baseUrl: 'https://b.example.com', clientId: 'client2' }));
    const info = f.calls.filter((c) => c.url.includes('/tokeninfo'));
    expect(info[info.length - 1].auth).not.toBe(info[info.length - 2].auth);
  });

  it('reports a redirect from the workspace as a failed step, never following it', async () => {
    const calls: string[] = [];
    const fetch = (async (input: string | URL) => {
      calls.push(String(input));
      return new Response(null, { status: 302, headers: { location: 'http://169.254.169.254/' } });
    }) as typeof globalThis.fetch;
    const broker = databricks.broker.create({ fetch, timeoutMs: 1000 });
    await expect(broker.mint(request())).rejects.toMatchObject({ status: 502, message: expect.stringMatching(/step 1 .*HTTP 302.*redirect, which is not followed/) });
    expect(calls).toEqual(['https://a.example.com/oidc/v1/token']);
  });
});
