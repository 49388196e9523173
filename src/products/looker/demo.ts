import { readFileSync } from 'node:fs';
import { html } from '../../common/html';
import { originOf } from '../../common/redirects';
import type { DemoBehaviour } from '../product-definition';

/**
 * The demo page's script (from our origin: the page's CSP allows no inline script). It embeds
 * the dashboard with @looker/embed-sdk's signed-URL flow: the SDK asks our URL endpoint
 * (`/embed/<target>/looker/dashboards/<id>?src=..&response=json`, with the session cookie)
 * for `{url}`, frames it, and connects to the frame over its message channel — which it
 * accepts only from `https://<Looker host>`. A string here (not a .js file) so `nest build`
 * carries it into dist without asset rules.
 */
const DEMO_CLIENT_JS = `import './looker-embed-sdk.js';

const el = document.getElementById('dashboard');
const status = document.getElementById('status');
const fail = (message) => { status.textContent = 'The dashboard could not be loaded: ' + message; status.className = 'error'; };
const loaded = () => { status.textContent = 'Dashboard loaded'; status.dataset.loaded = 'true'; };

try {
  const sdk = window.LookerEmbedSDK.getEmbedSDK();
  sdk.init(el.dataset.host, { url: el.dataset.urlEndpoint, params: [{ name: 'response', value: 'json' }], withCredentials: true });
  status.textContent = 'Loading the dashboard…';
  await sdk
    .createDashboardWithId(el.dataset.dashboard)
    .appendTo(el)
    .withClassName('looker-dashboard')
    .on('dashboard:loaded', loaded)
    .on('dashboard:run:complete', loaded)
    .build()
    .connect();
  if (!status.dataset.loaded) status.textContent = 'Connected to Looker; waiting for the dashboard…';
} catch (e) {
  fail(e && e.message ? e.message : String(e || 'the URL could not be signed'));
}
`;

/** A dashboard id: a number, or a LookML dashboard's `<model>::<name>`. */
const DASHBOARD = /^(?:[1-9][0-9]{0,17}|[A-Za-z0-9_]{1,100}::[A-Za-z0-9_]{1,100})$/;

/** `/demo/looker/<target>/<dashboard>`: a Looker dashboard embedded the way a host app would. */
export const lookerDemo: DemoBehaviour = {
  resource: DASHBOARD,
  title: (dashboard) => `Looker dashboard ${dashboard}`,
  body: ({ target, resource, base }) =>
    html`<div id="dashboard" class="embed" data-host="${new URL(target.baseUrl).host}" data-dashboard="${resource}" data-url-endpoint="${base}/embed/${encodeURIComponent(target.slug)}/looker/dashboards/${encodeURIComponent(resource)}"></div>`,
  script: 'looker-demo.js',
  assets: {
    'looker-demo.js': () => DEMO_CLIENT_JS,
    // @looker/embed-sdk's browser bundle (UMD: as a module it sets self.LookerEmbedSDK), from our origin: no CDN.
    'looker-embed-sdk.js': () => readFileSync(require.resolve('@looker/embed-sdk/dist/main.js'), 'utf8'),
  },
  // The SDK frames https://<host> (it always speaks https to Looker).
  frameOrigins: (target) => [originOf(target.baseUrl)].filter((o): o is string => !!o),
};
