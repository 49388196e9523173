import { readFileSync } from 'node:fs';
import { html } from '../../common/html';
import { originOf } from '../../common/redirects';
import type { DemoBehaviour } from '../product-definition';

/**
 * The demo page's script (from our origin: the page's CSP allows no inline script). It asks
 * for the workbook URL as JSON (`/embed/<target>/workbook/<id>?response=json`), frames it,
 * and listens with @sigmacomputing/embed-sdk for the workbook's `workbook:loaded` message —
 * which the SDK accepts only from a sigmacomputing.com / sigmacomputing.io origin.
 * A string here (not a .js file) so `nest build` carries it into dist without asset rules.
 */
const DEMO_CLIENT_JS = `import { workbookErrorListener, workbookLoadedListener } from './sigma-embed-sdk.js';

const iframe = document.getElementById('workbook');
const status = document.getElementById('status');

window.addEventListener('message', (event) => {
  workbookLoadedListener(event, iframe, () => { status.textContent = 'Workbook loaded'; status.dataset.loaded = 'true'; });
  workbookErrorListener(event, iframe, (e) => { status.textContent = 'Sigma reported an error: ' + (e.message || e.code || 'unknown'); status.className = 'error'; });
});

try {
  const res = await fetch(iframe.dataset.urlEndpoint, { credentials: 'include', headers: { Accept: 'application/json' } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.message || \`HTTP \${res.status}\`);
  status.textContent = 'Loading the workbook…';
  iframe.src = body.url;
} catch (e) {
  status.textContent = \`The workbook could not be loaded: \${e.message}\`;
  status.className = 'error';
}
`;

/** `/demo/sigma/<target>/<workbook>`: a Sigma workbook embedded the way a host app would. */
export const sigmaDemo: DemoBehaviour = {
  resource: /^[A-Za-z0-9_-]{1,200}$/,
  title: (workbook) => `Sigma workbook ${workbook}`,
  body: ({ target, resource, base }) =>
    html`<iframe id="workbook" class="embed" title="Sigma workbook" data-url-endpoint="${base}/embed/${encodeURIComponent(target.slug)}/workbook/${encodeURIComponent(resource)}?response=json"></iframe>`,
  script: 'sigma-demo.js',
  assets: {
    'sigma-demo.js': () => DEMO_CLIENT_JS,
    // @sigmacomputing/embed-sdk's ES module (one file, no imports), from our origin: no CDN.
    'sigma-embed-sdk.js': () => readFileSync(require.resolve('@sigmacomputing/embed-sdk').replace(/index\.js$/, 'index.mjs'), 'utf8'),
  },
  frameOrigins: (target) => [originOf(target.baseUrl)].filter((o): o is string => !!o),
};
