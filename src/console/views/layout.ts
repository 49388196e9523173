import type { Response } from 'express';
import { createHash } from 'node:crypto';
import { html, SafeHtml, unsafeRaw } from '../../common/html';

/**
 * The console's pages: server-rendered, in the login page's look (same palette, type, focus
 * ring), one inline stylesheet allowed by its hash and one small same-origin script (copy
 * buttons only: every action is a plain form). Markup is written with `html`, which escapes
 * every value.
 */

const STYLE = `
:root{color-scheme:light dark;font-family:system-ui,-apple-system,"Segoe UI",sans-serif;--ink:#1d2330;--muted:#4a5365;--line:#d5d9e0;--bg:#f4f5f7;--card:#fff;--blue:#2456c7;--red:#b3261e}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);line-height:1.45}
a{color:var(--blue)}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:var(--card);padding:.5rem;z-index:2}
header.top{background:var(--card);border-bottom:1px solid var(--line);padding:.6rem 1rem;display:flex;flex-wrap:wrap;gap:.5rem 1.2rem;align-items:center}
header.top .brand{font-weight:700;margin-right:auto}
header.top nav{display:flex;flex-wrap:wrap;gap:.2rem .9rem}
header.top nav a{text-decoration:none;padding:.2rem 0;border-bottom:2px solid transparent}
header.top nav a[aria-current=page]{border-bottom-color:var(--blue);font-weight:600}
header.top form{margin:0}
header.top .who{color:var(--muted);font-size:.9rem}
main{max-width:72rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.5rem 0 1rem}
h2{font-size:1.15rem;margin:0 0 .8rem}
section.card{background:var(--card);border-radius:.5rem;box-shadow:0 1px 3px #0002;padding:1rem 1.2rem;margin:0 0 1.2rem}
.grid{display:grid;gap:1.2rem;grid-template-columns:repeat(auto-fit,minmax(18rem,1fr))}
.checklist{list-style:none;padding:0;margin:.5rem 0 0}.checklist li{padding:.3rem 0}.checklist li.done a{color:var(--muted)}.checklist li span[aria-hidden]{display:inline-block;width:1.4rem;font-weight:700}
.stats{display:flex;flex-wrap:wrap;gap:1rem;margin:1rem 0}.stat{flex:1 1 8rem;background:var(--card);border-radius:.5rem;box-shadow:0 1px 3px #0002;padding:.8rem 1rem}
.stat b{display:block;font-size:1.8rem}
label{display:block;font-weight:600;margin:.8rem 0 .25rem}
.check label,label.inline{display:inline;font-weight:400;margin:0 0 0 .3rem}
.check{margin:.8rem 0 .2rem}
input[type=text],input[type=email],input[type=password],input[type=number],input[type=url],input[type=search],input[type=datetime-local],select,textarea{width:100%;padding:.5rem .55rem;font:inherit;border:1px solid #9aa3b2;border-radius:.3rem;background:var(--card);color:inherit}
textarea{min-height:4.5rem}
[aria-invalid=true]{border-color:var(--red)!important}
button,.button{display:inline-block;margin-top:1rem;padding:.55rem 1rem;font:inherit;font-weight:600;color:#fff;background:var(--blue);border:0;border-radius:.3rem;cursor:pointer;text-decoration:none}
button.secondary,.button.secondary{background:transparent;color:var(--blue);border:1px solid var(--blue)}
button.danger{background:var(--red)}
button.small{margin:0;padding:.25rem .6rem;font-size:.9rem}
button:focus-visible,input:focus-visible,select:focus-visible,textarea:focus-visible,a:focus-visible,summary:focus-visible{outline:3px solid #8fb0ff;outline-offset:1px}
.alert{padding:.7rem .8rem;border-radius:.3rem;background:#fdecea;color:#7a1712;border:1px solid #f3b8b3;margin:0 0 1rem}
.notice{padding:.7rem .8rem;border-radius:.3rem;background:#e7f3ea;color:#12502a;border:1px solid #a9d5b5;margin:0 0 1rem}
.field-error{margin:.25rem 0 0;color:var(--red);font-size:.9rem}
.hint,.muted{color:var(--muted);font-size:.9rem;margin:.2rem 0 0}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.95rem}
th,td{text-align:left;padding:.45rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
th{font-weight:600;color:var(--muted)}
td form{display:inline;margin:0}
.tag{display:inline-block;white-space:nowrap;padding:0 .4rem;border-radius:.8rem;background:#e5e9f2;font-size:.85rem}
.brand-preview{display:block;max-width:100%;height:auto;margin:0 0 1rem;border-radius:.4rem}
.tag.off{background:#fdecea;color:#7a1712}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9rem}
label code{word-break:break-all}
pre{background:#f0f2f6;padding:.8rem;border-radius:.3rem;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
dl.setup dt{font-weight:600;margin-top:.8rem}dl.setup dd{margin:.2rem 0 0;display:flex;gap:.5rem;align-items:center;flex-wrap:wrap}
dl.setup code{background:#f0f2f6;padding:.25rem .4rem;border-radius:.25rem;word-break:break-all;white-space:pre-wrap}
.row{display:flex;gap:.5rem;flex-wrap:wrap}.row>*{flex:1 1 10rem}
fieldset{border:1px solid var(--line);border-radius:.4rem;margin:1rem 0 0;padding:.2rem .8rem .8rem}
legend{font-weight:600;padding:0 .3rem}
.chart svg[role=img]{width:100%;height:auto;max-width:100%}.legend svg{vertical-align:-1px}
.legend{display:flex;flex-wrap:wrap;gap:.3rem 1rem;font-size:.9rem;margin:.4rem 0 0;padding:0;list-style:none}
.chart{margin:0 0 1rem}.chart svg[role=img]{color:var(--ink)}details summary{cursor:pointer;color:var(--blue);margin-top:.3rem}
.pager{display:flex;gap:1rem;margin-top:1rem}
.nowrap{white-space:nowrap}.actions{display:flex;flex-wrap:wrap;gap:0 .6rem;align-items:baseline}
td details summary{margin:0}td details pre{margin:.4rem 0 0;font-size:.85rem}td details p{margin:.3rem 0 0;overflow-wrap:anywhere}
ul.bars{list-style:none;margin:0;padding:0}ul.bars li{display:grid;grid-template-columns:minmax(0,16rem) 1fr 2.5rem;gap:.6rem;align-items:center;padding:.2rem 0}
ul.bars progress{width:100%;height:.9rem;accent-color:#c2410c}ul.bars b{text-align:right}
.chart .narrow{display:none}
@media (max-width:40rem){table.stack thead{display:none}table.stack tr{display:block;border-bottom:1px solid var(--line);padding:.35rem 0}table.stack td{display:block;border:0;padding:.1rem .2rem}
ul.bars li{grid-template-columns:1fr 2.5rem}ul.bars progress{grid-column:1/-1;grid-row:2}.chart .wide{display:none}.chart .narrow{display:block}}
@media (prefers-color-scheme:dark){:root{--ink:#e6e8ec;--muted:#b3bac6;--line:#3a4150;--bg:#16191f;--card:#222731;--blue:#8fb0ff}
button,.button{color:#0d1420}pre,dl.setup code{background:#16191f}.tag{background:#3a4150}section.card,.stat{box-shadow:none}}
`;
const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE, 'utf8').digest('base64')}'`;
// Safe unescaped: a constant of this file, and the CSP allows exactly this text by its hash.
const STYLE_MARKUP = unsafeRaw(STYLE);

/** The one script: copy buttons beside values an operator pastes into a BI product's admin screen. */
export const CONSOLE_SCRIPT = `(function(){
document.querySelectorAll('[data-copy]').forEach(function(el){
  if(!navigator.clipboard)return;
  var b=document.createElement('button');b.type='button';b.className='secondary small';b.textContent='Copy';
  b.setAttribute('aria-label','Copy '+(el.getAttribute('data-copy-label')||'value'));
  b.addEventListener('click',function(){navigator.clipboard.writeText(el.textContent).then(function(){b.textContent='Copied';setTimeout(function(){b.textContent='Copy'},1500)})});
  el.insertAdjacentElement('afterend',b);
});
})();
`;

export type NavItem = 'overview' | 'tenants' | 'targets' | 'audit' | 'outbox' | 'apikeys';

export interface Chrome {
  base: string;
  csrf: string;
  operator: boolean;
  /** Shown in the header. */
  who: string;
  /** A tenant admin's own tenant (their "Tenants" link goes straight there). */
  ownTenantId: string | null;
}

export function layout(c: Chrome, title: string, nav: NavItem | null, body: SafeHtml, notice?: string | null): SafeHtml {
  const link = (item: NavItem, href: string, label: string) =>
    html`<a href="${c.base + href}"${nav === item && html` aria-current="page"`}>${label}</a>`;
  const links = [
    link('overview', '/console', 'Overview'),
    c.operator ? link('tenants', '/console/tenants', 'Tenants') : link('tenants', `/console/tenants/${c.ownTenantId}`, 'My organization'),
    c.operator ? link('targets', '/console/targets', 'Targets') : '',
    link('audit', '/console/audit', 'Audit log'),
    c.operator ? link('outbox', '/console/outbox', 'Outbox') : '',
    c.operator ? link('apikeys', '/console/api-keys', 'API keys') : '',
  ];
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${title} · embed-idp console</title>
<style>${STYLE_MARKUP}</style>
<script src="${c.base}/console/assets/console.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
<span class="brand">embed-idp console</span>
<nav aria-label="Console">${links}</nav>
<span class="who">${c.who}</span>
<form method="post" action="${c.base}/logout"><button type="submit" class="secondary small">Sign out</button></form>
</header>
<main id="main">
<h1>${title}</h1>
${notice && html`<p class="notice" role="status">${notice}</p>`}
${body}
</main>
</body>
</html>
`;
}

/** A page with no console chrome (not signed in as a console user, or an error before one is known). */
export function bare(title: string, body: SafeHtml): SafeHtml {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title} · embed-idp console</title>
<style>${STYLE_MARKUP}</style>
</head>
<body>
<main id="main"><section class="card"><h1>${title}</h1>${body}</section></main>
</body>
</html>
`;
}

/**
 * Console headers: never cached, never framed (clickjacking on admin actions), forms post
 * only here, and scripts only from this origin (the copy-button script).
 */
export function sendConsole(res: Response, status: number, page: SafeHtml): void {
  res
    .status(status)
    .set({
      'Cache-Control': 'no-store',
      Pragma: 'no-cache',
      'Content-Security-Policy': `default-src 'none'; style-src ${STYLE_HASH}; script-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
      'X-Content-Type-Options': 'nosniff',
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'same-origin',
    })
    .type('html')
    .send(String(page));
}
