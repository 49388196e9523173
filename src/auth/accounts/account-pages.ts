import { html, SafeHtml } from '../../common/html';
import { Brand, Page, renderPage, supportLine } from '../../common/look';
import { CSRF_FIELD } from '../login/login-csrf.service';

/**
 * The pages of invitations, resets and password changes: the look of the login page (no
 * JavaScript; a <label> per field, errors tied to their input and announced).
 */

type Errors = Partial<Record<string, string>>;

function field(name: string, label: string, attrs: SafeHtml, errors: Errors, hint?: string): SafeHtml {
  const err = errors[name];
  const described = [hint && `${name}-hint`, err && `${name}-error`].filter(Boolean).join(' ');
  return html`<label for="${name}">${label}</label>
${hint && html`<p class="hint" id="${name}-hint">${hint}</p>`}
<input id="${name}" name="${name}" ${attrs}${err && html` aria-invalid="true"`}${described && html` aria-describedby="${described}"`}>
${err && html`<p class="field-error" id="${name}-error">${err}</p>`}`;
}

const PASSWORD_HINT = 'At least 12 characters, hard to guess (a few unrelated words work well), without your email address or name.';

function alert(error: string | undefined): SafeHtml | '' {
  return error ? html`<div class="alert" role="alert" id="form-error">${error}</div>` : '';
}

/** Set a password through an invitation or reset link (the token rides in a hidden field). */
export function setPasswordPage(v: {
  basePath: string;
  purpose: 'invitation' | 'password_reset';
  csrf: string;
  token: string;
  email: string;
  brand: Brand | null;
  error?: string;
  errors?: Errors;
}): Page {
  const invitation = v.purpose === 'invitation';
  const errors = v.errors ?? {};
  return renderPage({
    title: invitation ? 'Set your password' : 'Choose a new password',
    brand: v.brand,
    main: html`<h1>${invitation ? 'Set your password' : 'Choose a new password'}</h1>
<p>For <strong>${v.email}</strong>.</p>
${alert(v.error)}
<form method="post" action="${v.basePath}/account/${invitation ? 'invitation' : 'reset'}">
<input type="hidden" name="${CSRF_FIELD}" value="${v.csrf}">
<input type="hidden" name="token" value="${v.token}">
<input type="text" name="username" value="${v.email}" autocomplete="username" hidden>
${field('password', 'New password', html`type="password" autocomplete="new-password" minlength="12" maxlength="256" required`, errors, PASSWORD_HINT)}
${field('confirm', 'New password again', html`type="password" autocomplete="new-password" maxlength="256" required`, errors)}
<button type="submit">${invitation ? 'Set password and sign in' : 'Change password'}</button>
</form>
${supportLine(v.brand)}`,
  });
}

/** A link that no longer works, or a finished step. */
export function messagePage(v: { title: string; text: string; brand?: Brand | null; link?: { href: string; label: string } }): Page {
  return renderPage({
    title: v.title,
    brand: v.brand,
    main: html`<h1>${v.title}</h1>
<p>${v.text}</p>
${v.link && html`<ul class="actions"><li><a class="button" href="${v.link.href}">${v.link.label}</a></li></ul>`}
${supportLine(v.brand)}`,
  });
}

/** "Forgot password?": organization and email. */
export function forgotPage(v: { basePath: string; csrf: string; tenant: string; email: string; error?: string; errors?: Errors; off?: boolean }): Page {
  const errors = v.errors ?? {};
  return renderPage({
    title: 'Forgot your password?',
    main: html`<h1>Forgot your password?</h1>
${v.off
    ? html`<p>Password reset by email is not set up on this service. Ask an administrator of your organization to set a new password for you.</p>`
    : html`<p>Enter your organization and email address. If they belong to an account, we send a link to choose a new password.</p>
${alert(v.error)}
<form method="post" action="${v.basePath}/login/forgot">
<input type="hidden" name="${CSRF_FIELD}" value="${v.csrf}">
${field('tenant', 'Organization', html`type="text" autocomplete="organization" autocapitalize="none" spellcheck="false" maxlength="63" required value="${v.tenant}"`, errors)}
${field('email', 'Email', html`type="email" autocomplete="username" autocapitalize="none" spellcheck="false" maxlength="254" required value="${v.email}"`, errors)}
<button type="submit">Send the link</button>
</form>`}
<p><a href="${v.basePath}/login">Back to sign in</a></p>`,
  });
}

/** The account page's "Change password" section (added under "You are signed in"). */
export function changePasswordForm(v: { basePath: string; csrf: string; email: string; error?: string; errors?: Errors; done?: boolean }): SafeHtml {
  const errors = v.errors ?? {};
  return html`<section aria-labelledby="change-h">
<h2 id="change-h">Change password</h2>
${v.done && html`<p class="notice" role="status">Your password was changed. Your other sessions were ended.</p>`}
${alert(v.error)}
<form method="post" action="${v.basePath}/account/password">
<input type="hidden" name="${CSRF_FIELD}" value="${v.csrf}">
<input type="text" name="username" value="${v.email}" autocomplete="username" hidden>
${field('current', 'Current password', html`type="password" autocomplete="current-password" maxlength="1024" required`, errors)}
${field('password', 'New password', html`type="password" autocomplete="new-password" minlength="12" maxlength="256" required`, errors, PASSWORD_HINT)}
${field('confirm', 'New password again', html`type="password" autocomplete="new-password" maxlength="256" required`, errors)}
<button type="submit">Change password</button>
</form>
</section>`;
}
