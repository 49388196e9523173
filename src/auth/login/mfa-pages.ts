import { html, SafeHtml } from '../../common/html';
import { Brand, Page, renderPage, supportLine } from '../../common/look';
import { CSRF_FIELD } from './login-csrf.service';

/**
 * The two-step verification pages: the second step of a sign-in, setting factors up, and the
 * recovery codes (shown once). In the look of the tenant the person proved their password
 * for (by then the page tells nothing an outsider could use). Passkeys need the browser's
 * WebAuthn API, so those buttons are our own same-origin script's (hidden without it); TOTP
 * and recovery codes are plain forms.
 */

/** What these pages add to the shared look (from code; allowed by its CSP hash). */
const MFA_STYLE =
  'button.secondary,a.button.secondary{background:transparent;color:var(--link,inherit);border:1px solid currentColor}' +
  'form.inline button{display:inline-block;width:auto;margin:.3rem 0;padding:.3rem .6rem}' +
  '.notice{padding:.6rem;border-left:4px solid var(--accent,#2b6cb0);margin:1rem 0}' +
  'ul.codes{columns:2;padding-left:1.2rem}ul.codes code{font-size:1.05rem;white-space:nowrap}@media (max-width:30rem){ul.codes{columns:1}}img.qr{background:#fff;padding:4px}' +
  'h2{font-size:1.05rem;margin-top:1.6rem}';

export const MFA_SCRIPTS = (basePath: string) => [`${basePath}/login/mfa/assets/webauthn-browser.js`, `${basePath}/login/mfa/assets/mfa.js`];

function alert(error: string | undefined, notice?: string): SafeHtml | '' {
  if (error) return html`<div class="alert" role="alert" id="form-error">${error}</div>`;
  if (notice) return html`<div class="notice" role="status">${notice}</div>`;
  return '';
}

function passkeyButton(v: { basePath: string; csrf: string; mode: 'register' | 'authenticate'; label: string; options: string; verify: string }): SafeHtml {
  return html`<p><button type="button" class="secondary" hidden data-webauthn="${v.mode}" data-csrf="${v.csrf}" data-options="${v.basePath}${v.options}" data-verify="${v.basePath}${v.verify}" aria-describedby="passkey-status">${v.label}</button></p>
<p id="passkey-status" role="status" aria-live="polite"></p>`;
}

export interface ChallengeView {
  basePath: string;
  csrf: string;
  brand: Brand | null;
  email: string;
  totp: boolean;
  passkeys: boolean;
  error?: string;
}

/** The second step: a code from the authenticator app, a passkey, or a recovery code. */
export function mfaChallengePage(v: ChallengeView): Page {
  const err = v.error && html` aria-invalid="true" aria-describedby="form-error"`;
  return renderPage({
    title: 'Two-step verification',
    brand: v.brand,
    extraStyle: MFA_STYLE,
    main: html`<h1>Two-step verification</h1>
<p>Signing in as <strong>${v.email}</strong>.</p>
${alert(v.error)}
${v.passkeys && passkeyButton({ basePath: v.basePath, csrf: v.csrf, mode: 'authenticate', label: 'Use your passkey or security key', options: '/login/mfa/passkey/options', verify: '/login/mfa/passkey' })}
<form method="post" action="${v.basePath}/login/mfa">
<input type="hidden" name="${CSRF_FIELD}" value="${v.csrf}">
<label for="code">${v.totp ? 'Code from your authenticator app, or a recovery code' : 'Recovery code'}</label>
<input id="code" name="code" type="text" ${v.totp ? html`inputmode="numeric" ` : ''}autocomplete="one-time-code" autocapitalize="none" spellcheck="false" maxlength="64" required autofocus${err}>
<button type="submit">Verify</button>
</form>
<p><a href="${v.basePath}/logout">Cancel and sign out</a></p>
${supportLine(v.brand)}`,
    scripts: v.passkeys ? MFA_SCRIPTS(v.basePath) : undefined,
  });
}

export interface SetupView {
  basePath: string;
  csrf: string;
  brand: Brand | null;
  email: string;
  /** Signing in to a tenant that requires a factor: nothing else can be done before one is set up. */
  enrolling: boolean;
  policy: 'off' | 'optional' | 'required';
  totp: boolean;
  passkeys: { id: string; name: string; createdAt: Date }[];
  recoveryCodesLeft: number;
  error?: string;
  notice?: string;
  /** Where a sign-in that just set its first factor up was going (a safe local path): the way on. */
  continueTo?: string;
}

/** Setting up and managing factors (the account's "Two-step verification"). */
export function mfaSetupPage(v: SetupView): Page {
  const canRemove = v.policy !== 'required' || (v.totp ? 1 : 0) + v.passkeys.length > 1;
  const removeForm = (factor: string, label: string) =>
    html`<form method="post" action="${v.basePath}/login/mfa/setup/remove" class="inline">
<input type="hidden" name="${CSRF_FIELD}" value="${v.csrf}"><input type="hidden" name="factor" value="${factor}">
<button type="submit" class="secondary">${label}</button></form>`;
  return renderPage({
    title: 'Two-step verification',
    brand: v.brand,
    extraStyle: MFA_STYLE,
    main: html`<h1>Two-step verification</h1>
${v.enrolling
      ? html`<p>Your organization asks for a second step when you sign in. Set one up to continue signing in as <strong>${v.email}</strong>.</p>`
      : html`<p>A second step when you sign in as <strong>${v.email}</strong>, besides your password.</p>`}
${alert(v.error, v.notice)}
${v.policy === 'off' && html`<p>Your organization has two-step verification turned off: what you set up here is asked for only once it turns it on.</p>`}
<h2>Authenticator app</h2>
${v.totp
      ? html`<p>Set up.</p>${!v.enrolling && canRemove && removeForm('totp', 'Remove the authenticator app')}`
      : html`<p>Codes from an app such as Google Authenticator, Microsoft Authenticator or 1Password.</p>
<form method="post" action="${v.basePath}/login/mfa/setup/totp">
<input type="hidden" name="${CSRF_FIELD}" value="${v.csrf}">
<button type="submit">Set up an authenticator app</button>
</form>`}
<h2>Passkeys and security keys</h2>
${v.passkeys.length
      ? html`<ul>${v.passkeys.map((p) => html`<li>${p.name} ${!v.enrolling && canRemove && removeForm(`passkey:${p.id}`, `Remove ${p.name}`)}</li>`)}</ul>`
      : html`<p>Your device's screen lock, a phone, or a USB or NFC security key.</p>`}
<label for="passkey-name">Name for a new passkey</label>
<input id="passkey-name" name="passkey-name" type="text" maxlength="100" value="Passkey ${v.passkeys.length + 1}">
${passkeyButton({ basePath: v.basePath, csrf: v.csrf, mode: 'register', label: 'Add a passkey or security key', options: '/login/mfa/setup/passkey/options', verify: '/login/mfa/setup/passkey' })}
<noscript><p>Adding a passkey needs JavaScript; the authenticator app works without it.</p></noscript>
${!v.enrolling &&
    html`<h2>Recovery codes</h2>
<p>${v.recoveryCodesLeft} of 10 unused. Each signs you in once when you cannot use your other factors.</p>
<form method="post" action="${v.basePath}/login/mfa/setup/recovery-codes">
<input type="hidden" name="${CSRF_FIELD}" value="${v.csrf}">
${v.continueTo && html`<input type="hidden" name="continue" value="${v.continueTo}">`}
<button type="submit"${v.recoveryCodesLeft ? html` class="secondary"` : ''}>${v.recoveryCodesLeft ? 'Make new recovery codes (the old ones stop working)' : 'Make recovery codes'}</button>
</form>
${v.continueTo ? html`<ul class="actions"><li><a class="button${v.recoveryCodesLeft ? '' : ' secondary'}" href="${v.continueTo}">Continue</a></li></ul>` : html`<p><a href="${v.basePath}/account">Back to your account</a></p>`}`}
${v.enrolling && html`<p><a href="${v.basePath}/logout">Cancel and sign out</a></p>`}
${supportLine(v.brand)}`,
    scripts: MFA_SCRIPTS(v.basePath),
  });
}

/** Scan the QR code (or type the key), then prove it with a first code. */
export function totpSetupPage(v: { basePath: string; csrf: string; brand: Brand | null; secret: string; error?: string }): Page {
  const grouped = v.secret.match(/.{1,4}/g)!.join(' ');
  const err = v.error && html` aria-invalid="true" aria-describedby="form-error"`;
  return renderPage({
    title: 'Set up an authenticator app',
    brand: v.brand,
    extraStyle: MFA_STYLE,
    main: html`<h1>Set up an authenticator app</h1>
${alert(v.error)}
<ol>
<li>In your authenticator app, add an account and scan this code.
<p><img class="qr" src="${v.basePath}/login/mfa/setup/totp/qr.svg" width="200" height="200" alt="QR code of the key below"></p>
<p>Or type the key: <code>${grouped}</code></p></li>
<li>Enter the 6-digit code the app shows.</li>
</ol>
<form method="post" action="${v.basePath}/login/mfa/setup/totp/confirm">
<input type="hidden" name="${CSRF_FIELD}" value="${v.csrf}">
<label for="code">Code from the app</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" maxlength="12" required autofocus${err}>
<button type="submit">Turn on</button>
</form>
<p><a href="${v.basePath}/login/mfa/setup">Back</a></p>
${supportLine(v.brand)}`,
  });
}

/** The new recovery codes, shown this once. */
export function recoveryCodesPage(v: { brand: Brand | null; codes: string[]; continueTo: string }): Page {
  return renderPage({
    title: 'Your recovery codes',
    brand: v.brand,
    extraStyle: MFA_STYLE,
    main: html`<h1>Your recovery codes</h1>
<p>Keep these somewhere safe, such as a password manager. Each one signs you in once when you cannot use your authenticator app or passkey. <strong>They are shown only this once.</strong></p>
<ul class="codes">${v.codes.map((c) => html`<li><code>${c}</code></li>`)}</ul>
<ul class="actions"><li><a class="button" href="${v.continueTo}">I have saved them — continue</a></li></ul>
${supportLine(v.brand)}`,
  });
}
