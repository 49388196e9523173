import { readFileSync } from 'node:fs';
import { html } from '../../common/html';
import { originOf } from '../../common/redirects';
import type { DemoBehaviour } from '../product-definition';

/**
 * The demo page's script (served from our origin: the page's CSP allows no inline script).
 * It asks our broker for a dashboard token and hands it to @databricks/aibi-client, whose
 * getNewToken() calls the same endpoint again before the token expires.
 * A string here (not a .js file) so `nest build` carries it into dist without asset rules.
 */
const DEMO_CLIENT_JS = `import { DatabricksDashboard } from './aibi-client.js';

const container = document.getElementById('dashboard');
const status = document.getElementById('status');
const tokenUrl = container.dataset.tokenUrl;

async function fetchToken() {
  const res = await fetch(tokenUrl, { credentials: 'include', headers: { Accept: 'application/json' } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.message || \`HTTP \${res.status}\`);
  return body;
}

try {
  const first = await fetchToken();
  new DatabricksDashboard({
    instanceUrl: first.instanceUrl,
    workspaceId: first.workspaceId,
    dashboardId: first.dashboardId,
    token: first.token,
    container,
    getNewToken: async () => (await fetchToken()).token,
  }).initialize();
  status.textContent = \`Dashboard \${first.dashboardId}, token valid for \${Math.round(first.expiresIn / 60)} min\`;
} catch (e) {
  status.textContent = \`The dashboard could not be loaded: \${e.message}\`;
  status.className = 'error';
}
`;

/**
 * `/demo/databricks/<target>/<dashboardId>`: a Databricks AI/BI dashboard embedded the way a
 * host app would — @databricks/aibi-client, with the token from our broker
 * (`/embed/<target>/databricks/<id>/token`) and again from its getNewToken().
 */
export const databricksDemo: DemoBehaviour = {
  resource: /^[A-Za-z0-9_-]{1,64}$/,
  title: (dashboardId) => `Databricks dashboard ${dashboardId}`,
  body: ({ target, resource, base }) =>
    html`<div id="dashboard" data-token-url="${base}/embed/${encodeURIComponent(target.slug)}/databricks/${encodeURIComponent(resource)}/token"></div>`,
  script: 'databricks-demo.js',
  assets: {
    'databricks-demo.js': () => DEMO_CLIENT_JS,
    // @databricks/aibi-client's ES module, from our origin (no CDN: the page's CSP is 'self').
    'aibi-client.js': () => readFileSync(require.resolve('@databricks/aibi-client'), 'utf8'),
  },
  frameOrigins: (target) => [originOf(target.baseUrl)].filter((o): o is string => !!o),
};
