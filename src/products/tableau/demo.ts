import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { html } from '../../common/html';
import { originOf } from '../../common/redirects';
import type { DemoBehaviour } from '../product-definition';

/**
 * `@tableau/embedding-api` is published as CommonJS files (no browser bundle in the npm
 * package) and no bundler is a dependency here: this joins the entry and every file it
 * requires into one script the browser runs, each file in its own function scope, with the
 * `browser` field of each package.json applied (uuid swaps its Node crypto for the Web one).
 * Read once, on the first request for the asset.
 */
export function bundleCommonJs(entry: string): string {
  const ids = new Map<string, number>();
  const parts: string[] = [];
  const browserMap = (file: string): string => {
    // The nearest package.json's "browser" object maps files to their browser versions.
    for (let dir = path.dirname(file); dir !== path.dirname(dir); dir = path.dirname(dir)) {
      const pkg = path.join(dir, 'package.json');
      if (!existsSync(pkg)) continue;
      const browser = (JSON.parse(readFileSync(pkg, 'utf8')) as { browser?: unknown }).browser;
      if (browser && typeof browser === 'object') {
        const rel = `./${path.relative(dir, file).split(path.sep).join('/')}`;
        const to = (browser as Record<string, unknown>)[rel];
        if (typeof to === 'string') return path.join(dir, to);
      }
      return file;
    }
    return file;
  };
  const visit = (file: string): number => {
    const known = ids.get(file);
    if (known !== undefined) return known;
    const id = ids.size;
    ids.set(file, id);
    const text = readFileSync(file, 'utf8');
    // A required .json file (a version file) is its value.
    const code = file.endsWith('.json') ? `module.exports = ${text};` : text.replace(/\/\/# sourceMappingURL=.*$/gm, '');
    const deps: Record<string, number> = {};
    for (const m of code.matchAll(/\brequire\((["'])([^"']+)\1\)/g)) {
      const spec = m[2];
      if (deps[spec] !== undefined) continue;
      const resolved = spec.startsWith('.') ? require.resolve(path.resolve(path.dirname(file), spec)) : require.resolve(spec, { paths: [path.dirname(file)] });
      deps[spec] = visit(browserMap(resolved));
    }
    parts[id] = `${id}: [function (require, module, exports) {\n${code}\n}, ${JSON.stringify(deps)}]`;
    return id;
  };
  visit(require.resolve(entry));
  return `(function () {
var defs = {${parts.join(',\n')}};
var cache = {};
function load(id) {
  if (cache[id]) return cache[id].exports;
  var module = (cache[id] = { exports: {} });
  defs[id][0].call(module.exports, function (spec) { return load(defs[id][1][spec]); }, module, module.exports);
  return module.exports;
}
window.tableau = load(0);
})();
`;
}

/** The demo page's script (from our origin: the page's CSP allows no inline script). */
const DEMO_CLIENT_JS = `import './tableau-embedding-api.js';

const viz = document.getElementById('viz');
const status = document.getElementById('status');

viz.addEventListener('vizloaderror', (e) => {
  status.textContent = 'Tableau refused the view: ' + JSON.stringify(e.detail);
  status.className = 'error';
});
try {
  const res = await fetch(viz.dataset.tokenUrl, { credentials: 'include', headers: { Accept: 'application/json' } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.message || \`HTTP \${res.status}\`);
  viz.token = body.token;
  viz.src = viz.dataset.src;
  status.textContent = \`Token valid until \${new Date(body.expiresAt).toLocaleTimeString()}\`;
} catch (e) {
  status.textContent = \`The view could not be loaded: \${e.message}\`;
  status.className = 'error';
}
`;

/**
 * `/demo/tableau/<target>/<Workbook>~<Sheet>`: a Tableau view embedded the way a host app
 * would — `<tableau-viz>` from the real `@tableau/embedding-api`, with a token from
 * `/embed/<target>/token`. The view is `<baseUrl>/views/<Workbook>/<Sheet>` (a base URL of
 * `https://…/t/<site>` names the site).
 */
export const tableauDemo: DemoBehaviour = {
  resource: /^[A-Za-z0-9_-]{1,100}~[A-Za-z0-9_-]{1,100}$/,
  title: (view) => `Tableau view ${view.replace('~', '/')}`,
  body: ({ target, resource, base }) => {
    const [workbook, sheet] = resource.split('~');
    const src = `${target.baseUrl.replace(/\/+$/, '')}/views/${workbook}/${sheet}`;
    return html`<tableau-viz id="viz" class="embed" data-src="${src}" data-token-url="${base}/embed/${encodeURIComponent(target.slug)}/token" toolbar="hidden"></tableau-viz>`;
  },
  script: 'tableau-demo.js',
  assets: {
    'tableau-demo.js': () => DEMO_CLIENT_JS,
    'tableau-embedding-api.js': () => bundleCommonJs('@tableau/embedding-api'),
  },
  frameOrigins: (target) => [originOf(target.baseUrl)].filter((o): o is string => !!o),
  // The SDK posts the token to Tableau's sign-in endpoint from the host page itself.
  connectsToProduct: true,
};
