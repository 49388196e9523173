import { html } from '../../common/html';
import { originOf } from '../../common/redirects';
import type { DemoBehaviour } from '../product-definition';

/**
 * The demo page's script (from our origin: the page's CSP allows no inline script). It does
 * what qlik.dev "Create signed tokens for JWT authorization" / "JWT session" describes for a
 * host page: get our token, `POST <tenant>/login/jwt-session` with `Authorization: Bearer`
 * and credentials (Qlik answers with its session cookie), sending `qlik-web-integration-id`
 * when one is configured (Qlik Cloud requires it on cross-origin requests, from an origin the
 * web integration allows), then `GET <tenant>/api/v1/users/me` with that session.
 *
 * Plain fetch, not `@qlik/embed-web-components` / `@qlik/api`: those are not dependencies here
 * and load their code from the tenant, which the page's CSP (script-src 'self') refuses.
 * A string here (not a .js file) so `nest build` carries it into dist without asset rules.
 */
const DEMO_CLIENT_JS = `const el = document.getElementById('qlik');
const status = document.getElementById('status');
const who = document.getElementById('who');
const tenantUrl = el.dataset.tenantUrl;
const qlikHeaders = el.dataset.webIntegrationId ? { 'qlik-web-integration-id': el.dataset.webIntegrationId } : {};

try {
  const res = await fetch(el.dataset.tokenUrl, { credentials: 'include', headers: { Accept: 'application/json' } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.message || \`our token endpoint answered HTTP \${res.status}\`);
  status.textContent = 'Signing in to Qlik…';
  const login = await fetch(tenantUrl + '/login/jwt-session', { method: 'POST', credentials: 'include', headers: { ...qlikHeaders, Authorization: 'Bearer ' + body.token } });
  if (!login.ok) throw new Error(\`Qlik refused the token (HTTP \${login.status})\`);
  const me = await fetch(tenantUrl + '/api/v1/users/me', { credentials: 'include', headers: { ...qlikHeaders, Accept: 'application/json' } });
  if (!me.ok) throw new Error(\`Qlik has no session (HTTP \${me.status})\`);
  const user = await me.json();
  who.textContent = \`Qlik session for \${user.name || user.subject} (\${user.email || user.subject})\`;
  status.textContent = 'Signed in to Qlik';
  status.dataset.signedIn = 'true';
} catch (e) {
  status.textContent = \`Could not sign in to Qlik: \${e.message}\`;
  status.className = 'error';
}
`;

/**
 * `/demo/qlik/<target>/<app>`: the host-page side of a Qlik Cloud JWT sign-in. `<app>` names
 * the app a real host page would then show; this page stops at the signed-in session.
 */
export const qlikDemo: DemoBehaviour = {
  resource: /^[A-Za-z0-9_-]{1,100}$/,
  title: (app) => `Qlik Cloud app ${app}`,
  body: ({ target, base }) => {
    const wiid = target.settings.webIntegrationId;
    return html`<main id="qlik" class="card" data-tenant-url="${target.baseUrl.replace(/\/+$/, '')}" data-web-integration-id="${typeof wiid === 'string' ? wiid : ''}" data-token-url="${base}/embed/${encodeURIComponent(target.slug)}/token"><p id="who">Not signed in to Qlik yet.</p></main>`;
  },
  script: 'qlik-demo.js',
  assets: { 'qlik-demo.js': () => DEMO_CLIENT_JS },
  // Nothing is framed (frame-src 'none'); the page's script calls the tenant and nothing else.
  frameOrigins: () => [],
  connectOrigins: (target) => [originOf(target.baseUrl)].filter((o): o is string => !!o),
};
