import { readFileSync } from 'node:fs';
import { html } from '../../common/html';
import { originOf } from '../../common/redirects';
import type { DemoBehaviour } from '../product-definition';

/**
 * The demo page's script (served from our origin: the page's CSP allows no inline script).
 * It asks our broker for an embed token and gives it to powerbi-client
 * (`powerbi.embed(element, {type: 'report', tokenType: Embed, accessToken, embedUrl, id})`),
 * then sets a fresh token shortly before this one expires (report.setAccessToken), as
 * Microsoft's "Refresh the access token" guidance says.
 * A string here (not a .js file) so `nest build` carries it into dist without asset rules.
 */
const DEMO_CLIENT_JS = `import './powerbi-client.js';

const container = document.getElementById('report');
const status = document.getElementById('status');
const tokenUrl = container.dataset.tokenUrl;
const models = window['powerbi-client'].models;

async function fetchToken() {
  const res = await fetch(tokenUrl, { credentials: 'include', headers: { Accept: 'application/json' } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.message || \`HTTP \${res.status}\`);
  return body;
}

function refreshBefore(report, expiresAt) {
  // Two minutes before expiry (at least 10 s from now), as Microsoft's samples do.
  const wait = Math.max(10_000, Date.parse(expiresAt) - Date.now() - 120_000);
  setTimeout(async () => {
    try {
      const next = await fetchToken();
      await report.setAccessToken(next.token);
      refreshBefore(report, next.expiresAt);
    } catch (e) {
      status.textContent = \`The report's token could not be renewed: \${e.message}\`;
      status.className = 'error';
    }
  }, wait);
}

try {
  const first = await fetchToken();
  const report = window.powerbi.embed(container, {
    type: 'report',
    tokenType: models.TokenType.Embed,
    accessToken: first.token,
    embedUrl: first.embedUrl,
    id: first.reportId,
    permissions: models.Permissions.Read,
    settings: { panes: { filters: { visible: false } } },
  });
  report.on('loaded', () => { status.textContent = \`Report \${first.reportId} loaded\`; });
  report.on('rendered', () => {
    status.textContent = \`Report \${first.reportId} rendered; token valid until \${new Date(first.expiresAt).toLocaleTimeString()}\`;
    status.dataset.rendered = 'true';
  });
  report.on('error', (e) => {
    const d = (e && e.detail) || {};
    status.textContent = \`Power BI reported an error: \${d.detailedMessage || d.message || 'unknown'}\`;
    status.className = 'error';
  });
  refreshBefore(report, first.expiresAt);
} catch (e) {
  status.textContent = \`The report could not be loaded: \${e.message}\`;
  status.className = 'error';
}
`;

/**
 * powerbi-client is published as one UMD bundle (no ES module): run it with `this` = window,
 * so it defines window['powerbi-client'] and its global service, window.powerbi.
 */
export function powerbiClientModule(): string {
  const umd = readFileSync(require.resolve('powerbi-client/dist/powerbi.min.js'), 'utf8').replace(/\/\/# sourceMappingURL=.*$/gm, '');
  return `(function () {\n${umd}\n}).call(window);\n`;
}

/**
 * `/demo/powerbi/<target>/<reportId>`: a Power BI report embedded the way a host app would —
 * powerbi-client, with the embed token from our broker (`/embed/<target>/powerbi/<id>/token`).
 */
export const powerbiDemo: DemoBehaviour = {
  resource: /^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$/,
  title: (reportId) => `Power BI report ${reportId}`,
  body: ({ target, resource, base }) =>
    html`<div id="report" class="embed" data-token-url="${base}/embed/${encodeURIComponent(target.slug)}/powerbi/${encodeURIComponent(resource)}/token"></div>`,
  script: 'powerbi-demo.js',
  assets: {
    'powerbi-demo.js': () => DEMO_CLIENT_JS,
    // powerbi-client from our origin (no CDN: the page's CSP is 'self').
    'powerbi-client.js': powerbiClientModule,
  },
  // The report's embedUrl is on the target's base URL (the broker checks it).
  frameOrigins: (target) => [originOf(target.baseUrl)].filter((o): o is string => !!o),
};
