import { escapeHtml } from '../../common/html';
import { Brand, Page, renderPage, supportLine } from '../../common/look';
import { CSRF_FIELD } from './login-csrf.service';

/**
 * The front door's server-rendered pages: login, signed-in, signed-out. No JavaScript; the
 * shared look (src/common/look.ts). The login page is always in our own look (an anonymous
 * visitor must not learn which organizations exist); the signed-in and signed-out pages are
 * in the look of the tenant the visitor signed in to. Every value is escaped.
 */
export { sendPage } from '../../common/look';
export type { Brand, Page } from '../../common/look';

export type LoginField = 'tenant' | 'email' | 'password';

export interface LoginView {
  /** PUBLIC_URL's path ('' at the root): prefixes the links and the form action. */
  basePath: string;
  csrf: string;
  /** A validated continuation (path on this service), carried through the form. */
  next: string | null;
  /**
   * The organization field's value: what the visitor typed, or ?tenant= as given — never
   * looked up, so a known and an unknown organization give the same page.
   */
  tenantInput: string;
  email: string;
  /** A form-level error (shown above the form, announced to screen readers). */
  error?: string;
  fieldErrors?: Partial<Record<LoginField, string>>;
}

export function loginPage(v: LoginView): Page {
  const fe = v.fieldErrors ?? {};
  // A <label for> per field; an inline error is tied to its input with aria-describedby.
  const field = (name: LoginField, label: string, attrs: string) => {
    const err = fe[name];
    const aria = err ? ` aria-invalid="true" aria-describedby="${name}-error"` : '';
    return `<label for="${name}">${label}</label>
<input id="${name}" name="${name}" ${attrs}${aria}>
${err ? `<p class="field-error" id="${name}-error">${escapeHtml(err)}</p>` : ''}`;
  };
  return renderPage({
    title: 'Sign in',
    main: `<h1>Sign in</h1>
${v.error ? `<div class="alert" role="alert" id="form-error">${escapeHtml(v.error)}</div>` : ''}
<form method="post" action="${escapeHtml(v.basePath)}/login"${v.error ? ' aria-describedby="form-error"' : ''}>
<input type="hidden" name="${CSRF_FIELD}" value="${escapeHtml(v.csrf)}">
${v.next ? `<input type="hidden" name="next" value="${escapeHtml(v.next)}">` : ''}
${field('tenant', 'Organization', `type="text" autocomplete="organization" autocapitalize="none" spellcheck="false" maxlength="63" required value="${escapeHtml(v.tenantInput)}"`)}
${field('email', 'Email', `type="email" autocomplete="username" autocapitalize="none" spellcheck="false" maxlength="254" required value="${escapeHtml(v.email)}"${v.tenantInput && !v.email ? ' autofocus' : ''}`)}
${field('password', 'Password', `type="password" autocomplete="current-password" maxlength="1024" required`)}
<button type="submit">Sign in</button>
</form>`,
  });
}

export function accountPage(v: { basePath: string; name: string; email: string; tenantName: string; brand?: Brand | null }): Page {
  return renderPage({
    title: 'Signed in',
    brand: v.brand,
    main: `<h1>You are signed in</h1>
<p>Signed in as <strong>${escapeHtml(v.name || v.email)}</strong>${v.name ? ` (${escapeHtml(v.email)})` : ''}
at <strong>${escapeHtml(v.tenantName)}</strong>.</p>
<form method="post" action="${escapeHtml(v.basePath)}/logout"><button type="submit">Sign out</button></form>
${supportLine(v.brand)}`,
  });
}

/**
 * Signed out. `biLogoutUrls` are loaded in hidden iframes: Metabase has no single logout and
 * Sisense ends its session only when the browser calls its logout endpoint with its cookies
 * (CONTRACTS.md, "Logout"). With a `continueTo`, the page moves on by itself after a moment.
 */
export function loggedOutPage(v: { biLogoutUrls: string[]; continueTo: string | null; loginHref: string; brand?: Brand | null }): Page {
  const frames = v.biLogoutUrls
    .map((u) => `<iframe class="bi-logout" src="${escapeHtml(u)}" title="Signing out of an analytics tool" tabindex="-1" aria-hidden="true"></iframe>`)
    .join('\n');
  return renderPage({
    title: 'Signed out',
    brand: v.brand,
    main: `<h1>You are signed out</h1>
${v.continueTo
      ? `<p>Taking you onwards… <a href="${escapeHtml(v.continueTo)}">Continue</a></p>`
      : `<p>You can close this window, or sign in again.</p>
<ul class="actions"><li><a class="button" href="${escapeHtml(v.loginHref)}">Sign in again</a></li></ul>`}
${supportLine(v.brand)}${frames}`,
    // Long enough for the BI logout frames to load; the link above works at once.
    head: v.continueTo ? `<meta http-equiv="refresh" content="3;url=${escapeHtml(v.continueTo)}">\n` : '',
    frameOrigins: [...new Set(v.biLogoutUrls.map((u) => new URL(u).origin))],
  });
}
