import { readFileSync } from 'node:fs';
import { html } from '../../common/html';
import { originOf } from '../../common/redirects';
import type { DemoBehaviour } from '../product-definition';

/**
 * The demo page's script (from our origin: the page's CSP allows no inline script). It calls
 * @superset-ui/embedded-sdk's embedDashboard, whose fetchGuestToken POSTs to our guest-token
 * endpoint (again before each token expires). The SDK frames `<superset>/embedded/<uuid>`
 * and hands the token over a MessageChannel: the page connects only to us.
 * A string here (not a .js file) so `nest build` carries it into dist without asset rules.
 */
const DEMO_CLIENT_JS = `import { embedDashboard } from './superset-embedded-sdk.js';

const mountPoint = document.getElementById('dashboard');
const status = document.getElementById('status');
const { tokenUrl, supersetDomain, dashboardId } = mountPoint.dataset;
let fetched = 0;

async function fetchGuestToken() {
  const res = await fetch(tokenUrl, { method: 'POST', credentials: 'include', headers: { Accept: 'application/json' } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.message || \`HTTP \${res.status}\`);
  fetched += 1;
  status.dataset.tokens = String(fetched);
  return body.token;
}

try {
  // Superset's embedded view checks the Referer against the dashboard's allowed domains; this
  // page's own policy (same-origin) would send none to Superset, so the iframe sends the origin.
  await embedDashboard({ id: dashboardId, supersetDomain, mountPoint, fetchGuestToken, referrerPolicy: 'strict-origin-when-cross-origin', dashboardUiConfig: { hideTitle: false } });
  status.textContent = \`Dashboard \${dashboardId}: guest token handed to Superset\`;
  status.dataset.embedded = 'true';
} catch (e) {
  status.textContent = \`The dashboard could not be loaded: \${e.message}\`;
  status.className = 'error';
}
`;

/**
 * The SDK's browser bundle is UMD: loaded as a module it sets globalThis.supersetEmbeddedSdk
 * (no exports, no define). Re-exported here so the page's module can import it.
 */
const sdkModule = (): string =>
  `${readFileSync(require.resolve('@superset-ui/embedded-sdk'), 'utf8')}\nexport const embedDashboard = globalThis.supersetEmbeddedSdk.embedDashboard;\n`;

/** `/demo/superset/<target>/<embedded dashboard uuid>`: a Superset dashboard embedded the way a host app would. */
export const supersetDemo: DemoBehaviour = {
  resource: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
  title: (uuid) => `Superset dashboard ${uuid}`,
  body: ({ target, resource, base }) =>
    html`<div id="dashboard" data-dashboard-id="${resource}" data-superset-domain="${target.baseUrl.replace(/\/+$/, '')}" data-token-url="${base}/embed/${encodeURIComponent(target.slug)}/superset/${encodeURIComponent(resource)}/guest-token"></div>`,
  script: 'superset-demo.js',
  assets: {
    'superset-demo.js': () => DEMO_CLIENT_JS,
    'superset-embedded-sdk.js': sdkModule,
  },
  frameOrigins: (target) => [originOf(target.baseUrl)].filter((o): o is string => !!o),
};
