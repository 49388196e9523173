import { html, joinHtml, safeUrl, SafeHtml } from '../../common/html';
import { Brand, Page, renderPage, supportLine } from '../../common/look';
import { CSRF_FIELD } from './login-csrf.service';

/**
 * The front door's server-rendered pages: login, signed-in, signed-out. No JavaScript; the
 * shared look (src/common/look.ts). The login page is always in our own look (an anonymous
 * visitor must not learn which organizations exist); the signed-in and signed-out pages are
 * in the look of the tenant the visitor signed in to. Written with `html`, which escapes
 * every value.
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
  const field = (name: LoginField, label: string, attrs: SafeHtml) => {
    const err = fe[name];
    const aria = err && html` aria-invalid="true" aria-describedby="${name}-error"`;
    return html`<label for="${name}">${label}</label>
<input id="${name}" name="${name}" ${attrs}${aria}>
${err && html`<p class="field-error" id="${name}-error">${err}</p>`}`;
  };
  return renderPage({
    title: 'Sign in',
    main: html`<h1>Sign in</h1>
${v.error && html`<div class="alert" role="alert" id="form-error">${v.error}</div>`}
<form method="post" action="${v.basePath}/login"${v.error && html` aria-describedby="form-error"`}>
<input type="hidden" name="${CSRF_FIELD}" value="${v.csrf}">
${v.next && html`<input type="hidden" name="next" value="${v.next}">`}
${field('tenant', 'Organization', html`type="text" autocomplete="organization" autocapitalize="none" spellcheck="false" maxlength="63" required value="${v.tenantInput}"`)}
${field('email', 'Email', html`type="email" autocomplete="username" autocapitalize="none" spellcheck="false" maxlength="254" required value="${v.email}"${v.tenantInput && !v.email && html` autofocus`}`)}
${field('password', 'Password', html`type="password" autocomplete="current-password" maxlength="1024" required`)}
<button type="submit">Sign in</button>
</form>
<p><a href="${v.basePath}/login/company${v.next ? `?next=${encodeURIComponent(v.next)}` : ''}">Sign in with your company account</a></p>
<p><a href="${v.basePath}/login/forgot${v.tenantInput && `?tenant=${encodeURIComponent(v.tenantInput)}`}">Forgot password?</a></p>`,
  });
}

/** The account page. With a brand, the header above already names the organization (its branded name): said once. */
export function accountPage(v: {
  basePath: string;
  name: string;
  email: string;
  tenantName: string;
  brand?: Brand | null;
  extra?: SafeHtml;
  /** Two-step verification, when the tenant's policy offers it: whether the user has a factor. */
  mfa?: { on: boolean } | null;
}): Page {
  return renderPage({
    title: 'Signed in',
    brand: v.brand,
    main: html`<h1>You are signed in</h1>
<p>Signed in as <strong>${v.name || v.email}</strong>${v.name && html` (${v.email})`}${!v.brand && html`
at <strong>${v.tenantName}</strong>`}.</p>
${v.mfa && html`<p>Two-step verification: ${v.mfa.on ? 'on' : 'off'}. <a href="${v.basePath}/login/mfa/setup">${v.mfa.on ? 'Manage' : 'Set it up'}</a></p>`}
<form method="post" action="${v.basePath}/logout"><button type="submit">Sign out</button></form>
${v.extra}
${supportLine(v.brand)}`,
  });
}

/**
 * Signed out. `biLogoutUrls` are loaded in hidden iframes: Metabase has no single logout and
 * Sisense ends its session only when the browser calls its logout endpoint with its cookies
 * (Metabase's and Sisense's logout rules, README). With a `continueTo`, the page moves on by itself after a moment.
 */
export function loggedOutPage(v: {
  biLogoutUrls: string[];
  continueTo: string | null;
  loginHref: string;
  brand?: Brand | null;
  /** The company IdP's end-session URL, for a session company sign-in opened. */
  idpLogout?: { url: string; name: string } | null;
}): Page {
  const frames = v.biLogoutUrls
    .map((u) => html`<iframe class="bi-logout" src="${u}" title="Signing out of an analytics tool" tabindex="-1" aria-hidden="true"></iframe>`);
  // Our session is over; the IdP's is the person's to end (it may sign them out of other apps too).
  const idp = v.idpLogout && html`<p>You are still signed in at your company's identity provider (${v.idpLogout.name}).</p>
<ul class="actions"><li><a class="button secondary" id="idp-logout" href="${v.idpLogout.url}">Also sign out of ${v.idpLogout.name}</a></li></ul>`;
  return renderPage({
    title: 'Signed out',
    brand: v.brand,
    main: html`<h1>You are signed out</h1>
${v.continueTo
      ? html`<p>${v.idpLogout ? '' : 'Taking you onwards… '}<a href="${v.continueTo}">Continue</a></p>`
      : html`<p>You can close this window, or sign in again.</p>
<ul class="actions"><li><a class="button" href="${v.loginHref}">Sign in again</a></li></ul>`}
${idp}
${supportLine(v.brand)}${joinHtml(frames, '\n')}`,
    // Long enough for the BI logout frames to load; the link above works at once. Not when
    // the IdP's sign-out is offered: the person must have time to choose it.
    head: v.continueTo && !v.idpLogout ? html`<meta http-equiv="refresh" content="3;url=${safeUrl(v.continueTo)}">\n` : undefined,
    frameOrigins: [...new Set(v.biLogoutUrls.map((u) => new URL(u).origin))],
  });
}
