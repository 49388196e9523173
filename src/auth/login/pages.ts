import type { Response } from 'express';
import { createHash } from 'node:crypto';
import { escapeHtml } from '../../common/html';
import { CSRF_FIELD } from './login-csrf';

/**
 * The front door's server-rendered pages: login, signed-in, signed-out. No JavaScript; one
 * small inline stylesheet allowed by its hash (CSP Level 2 hash-source), so the policy can
 * stay `default-src 'none'`. Every value is escaped.
 */
const STYLE = `
:root{color-scheme:light dark;font-family:system-ui,-apple-system,"Segoe UI",sans-serif}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:#f4f5f7;color:#1d2330}
main{width:100%;max-width:24rem;margin:2rem 1rem;padding:2rem;background:#fff;border-radius:.5rem;box-shadow:0 1px 3px #0002}
h1{font-size:1.4rem;margin:0 0 1rem}
p{line-height:1.45}
label{display:block;font-weight:600;margin:1rem 0 .3rem}
input[type=text],input[type=email],input[type=password]{box-sizing:border-box;width:100%;padding:.55rem .6rem;font:inherit;border:1px solid #9aa3b2;border-radius:.3rem}
input[aria-invalid=true]{border-color:#b3261e}
button{margin-top:1.4rem;width:100%;padding:.65rem;font:inherit;font-weight:600;color:#fff;background:#2456c7;border:0;border-radius:.3rem;cursor:pointer}
button:focus-visible,input:focus-visible,a:focus-visible{outline:3px solid #8fb0ff;outline-offset:1px}
.alert{padding:.7rem .8rem;border-radius:.3rem;background:#fdecea;color:#7a1712;border:1px solid #f3b8b3}
.field-error{margin:.3rem 0 0;color:#b3261e;font-size:.9rem}
.org{margin:0 0 .5rem;color:#4a5365}
.muted{color:#4a5365;font-size:.9rem}
.bi-logout{position:absolute;width:0;height:0;border:0;visibility:hidden}
@media (prefers-color-scheme:dark){body{background:#16191f;color:#e6e8ec}main{background:#222731;box-shadow:none}.org,.muted{color:#b3bac6}input[type=text],input[type=email],input[type=password]{background:#16191f;color:inherit}}
`;
const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE, 'utf8').digest('base64')}'`;

export type LoginField = 'tenant' | 'email' | 'password';

export interface LoginView {
  /** PUBLIC_URL's path ('' at the root): prefixes the links and the form action. */
  basePath: string;
  csrf: string;
  /** A validated continuation (path on this service), carried through the form. */
  next: string | null;
  /** The organization preset by ?tenant=: shown by its display name, sent as a hidden slug. */
  presetTenant: { slug: string; name: string } | null;
  /** What the visitor typed as organization (when not preset). */
  tenantInput: string;
  email: string;
  /** A form-level error (shown above the form, announced to screen readers). */
  error?: string;
  fieldErrors?: Partial<Record<LoginField, string>>;
}

export function loginPage(v: LoginView): string {
  const fe = v.fieldErrors ?? {};
  // A <label for> per field; an inline error is tied to its input with aria-describedby.
  const field = (name: LoginField, label: string, attrs: string) => {
    const err = fe[name];
    const aria = err ? ` aria-invalid="true" aria-describedby="${name}-error"` : '';
    return `<label for="${name}">${label}</label>
<input id="${name}" name="${name}" ${attrs}${aria}>
${err ? `<p class="field-error" id="${name}-error">${escapeHtml(err)}</p>` : ''}`;
  };
  const otherOrg = `${v.basePath}/login${v.next ? `?next=${encodeURIComponent(v.next)}` : ''}`;
  const org = v.presetTenant
    ? `<p class="org">Organization: <strong>${escapeHtml(v.presetTenant.name)}</strong>
  · <a href="${escapeHtml(otherOrg)}">Not your organization?</a></p>
<input type="hidden" name="tenant" value="${escapeHtml(v.presetTenant.slug)}">
<input type="hidden" name="org_preset" value="1">`
    : field('tenant', 'Organization', `type="text" autocomplete="organization" autocapitalize="none" spellcheck="false" maxlength="63" required value="${escapeHtml(v.tenantInput)}"`);

  return document(
    'Sign in',
    `<main>
<h1>Sign in</h1>
${v.error ? `<div class="alert" role="alert" id="form-error">${escapeHtml(v.error)}</div>` : ''}
<form method="post" action="${escapeHtml(v.basePath)}/login"${v.error ? ' aria-describedby="form-error"' : ''}>
<input type="hidden" name="${CSRF_FIELD}" value="${escapeHtml(v.csrf)}">
${v.next ? `<input type="hidden" name="next" value="${escapeHtml(v.next)}">` : ''}
${org}
${field('email', 'Email', `type="email" autocomplete="username" autocapitalize="none" spellcheck="false" maxlength="254" required value="${escapeHtml(v.email)}"${v.presetTenant && !v.email ? ' autofocus' : ''}`)}
${field('password', 'Password', `type="password" autocomplete="current-password" maxlength="1024" required`)}
<button type="submit">Sign in</button>
</form>
</main>`,
  );
}

export function accountPage(v: { basePath: string; name: string; email: string; tenantName: string }): string {
  return document(
    'Signed in',
    `<main>
<h1>You are signed in</h1>
<p>Signed in as <strong>${escapeHtml(v.name || v.email)}</strong>${v.name ? ` (${escapeHtml(v.email)})` : ''}
at <strong>${escapeHtml(v.tenantName)}</strong>.</p>
<form method="post" action="${escapeHtml(v.basePath)}/logout"><button type="submit">Sign out</button></form>
</main>`,
  );
}

/**
 * Signed out. `biLogoutUrls` are loaded in hidden iframes: Metabase has no single logout and
 * Sisense ends its session only when the browser calls its logout endpoint with its cookies
 * (CONTRACTS.md, "Logout"). With a `continueTo`, the page moves on by itself after a moment.
 */
export function loggedOutPage(v: { biLogoutUrls: string[]; continueTo: string | null; loginHref: string }): string {
  const frames = v.biLogoutUrls
    .map((u) => `<iframe class="bi-logout" src="${escapeHtml(u)}" title="Signing out of an analytics tool" tabindex="-1" aria-hidden="true"></iframe>`)
    .join('\n');
  return document(
    'Signed out',
    `<main>
<h1>You are signed out</h1>
${v.continueTo
      ? `<p>Taking you onwards… <a href="${escapeHtml(v.continueTo)}">Continue</a></p>`
      : `<p><a href="${escapeHtml(v.loginHref)}">Sign in again</a></p>`}
${frames}
</main>`,
    // Long enough for the BI logout frames to load; the link above works at once.
    v.continueTo ? `<meta http-equiv="refresh" content="3;url=${escapeHtml(v.continueTo)}">` : '',
  );
}

function document(title: string, body: string, head = ''): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${escapeHtml(title)}</title>
${head}<style>${STYLE}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

/**
 * Headers for every front-door page: never cached (a shared cache must not keep a login form
 * with its CSRF token or a signed-in page). No X-Frame-Options and no frame-ancestors: BI
 * tools embed this flow in iframes on customer origins we cannot list. No form-action
 * either: Chrome applies form-action to the redirects that follow a submission, and a login
 * continues through /sso/* to the BI tool's own origin.
 */
export function sendPage(res: Response, status: number, html: string, opts: { frameOrigins?: string[] } = {}): void {
  const frameSrc = opts.frameOrigins?.length ? `; frame-src ${opts.frameOrigins.join(' ')}` : '';
  res
    .status(status)
    .set({
      'Cache-Control': 'no-store',
      Pragma: 'no-cache',
      'Content-Security-Policy': `default-src 'none'; style-src ${STYLE_HASH}; img-src 'self'; base-uri 'none'${frameSrc}`,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'same-origin',
    })
    .type('html')
    .send(html);
}
