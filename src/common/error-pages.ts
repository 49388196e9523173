import { html, SafeHtml } from './html';
import { Brand, Page, renderPage, supportLine, webUrl } from './look';
import { safeLocalPath } from './redirects';

/**
 * What a person sees when a browser route fails: a human title and sentence per error code
 * (never the code in the title), a way on, and the request id, small, for support. The JSON
 * answer (API callers) keeps the code and the developer message.
 */
type WayOn = 'sign-in' | 'other-account' | 'retry' | 'start';

export interface ErrorCopy {
  title: string;
  sentence: string;
  way: WayOn;
}
type Copy = ErrorCopy;

const NOT_FOUND: Copy = {
  title: 'Page not found',
  sentence: 'This address does not lead anywhere here. The link may be old or mistyped.',
  way: 'start',
};
const BAD_LINK: Copy = {
  title: 'This link does not work',
  sentence: 'The link that brought you here is not one this sign-in service can open. Go back to the app and open the page again from there.',
  way: 'start',
};
const BAD_REQUEST: Copy = {
  title: 'That did not work',
  sentence: 'Your browser sent something this sign-in service could not read. Go back and try again.',
  way: 'start',
};
/** A target not fully configured (a product's own configuration codes use it too). */
export const NOT_SET_UP: Copy = {
  title: 'Not set up yet',
  sentence: 'This analytics tool is not fully set up for your organization yet. Your administrator needs to finish setting it up.',
  way: 'start',
};
const SIGN_IN: Copy = { title: 'Please sign in', sentence: 'Your session has ended. Sign in again to continue.', way: 'sign-in' };
const TOO_MANY: Copy = {
  title: 'Too many attempts',
  sentence: 'There were too many sign-ins in a short time. Wait a minute, then try again.',
  way: 'retry',
};
const NOT_ALLOWED: Copy = { title: 'Not allowed', sentence: 'You are not allowed to open this page.', way: 'other-account' };
const BROKEN: Copy = {
  title: 'Something went wrong',
  sentence: 'Something went wrong on our side. Try again in a moment; if it keeps happening, contact support and quote the reference below.',
  way: 'retry',
};

const UNAVAILABLE: Copy = {
  title: 'Temporarily unavailable',
  sentence: 'This sign-in service is temporarily unavailable. Try again in a few seconds.',
  way: 'retry',
};

/** A host app's hand-off the service cannot accept (src/inbound/handoff.errors.ts): back to the app. */
const HANDOFF_UNUSABLE: Copy = {
  title: 'We could not sign you in',
  sentence: 'The app you came from sent a sign-in this service cannot accept. Go back to the app and open the page again; if it keeps happening, contact your administrator and quote the reference below.',
  way: 'start',
};
const ACCOUNT_DISABLED: Copy = {
  title: 'Account not available',
  sentence: 'Your account or your organization has been disabled. Contact your administrator.',
  way: 'other-account',
};

/**
 * Every code a browser route can answer with (see each module's errors), then by status. A
 * product's own codes are its definition's `errorCopy` (src/products/<kind>/), handed to the
 * error filter at start (ERROR_PAGE_COPY): this folder sits below the products.
 */
const BY_CODE: Record<string, Copy> = {
  not_found: NOT_FOUND,
  target_not_found: NOT_FOUND,
  target_disabled: {
    title: 'Not available right now',
    sentence: 'This analytics tool has been switched off by your administrator.',
    way: 'start',
  },
  invalid_return_to: {
    title: 'This link does not work',
    sentence: 'The link that brought you here asked to go somewhere this sign-in service does not allow, so it was stopped. Go back to the app and open the page again.',
    way: 'start',
  },
  sso_not_supported: BAD_LINK,
  embed_not_supported: BAD_LINK,
  token_not_supported: BAD_LINK,
  invalid_embed_kind: BAD_LINK,
  invalid_id: BAD_LINK,
  no_session: SIGN_IN,
  unauthorized: SIGN_IN,
  no_access: {
    title: 'No access',
    sentence: 'Your organization does not have access to this analytics tool. Ask your administrator to give it access.',
    way: 'other-account',
  },
  account_disabled: ACCOUNT_DISABLED,
  identity_conflict: {
    title: 'We could not sign you in',
    sentence: 'Your email address is not assigned to your organization on this analytics tool, so you cannot be signed in to it. Ask your administrator to resolve this.',
    way: 'other-account',
  },
  origin_not_allowed: {
    title: 'Not allowed from here',
    sentence: 'This page may not be opened from the site you came from.',
    way: 'start',
  },
  cross_site: {
    title: 'Sent from another site',
    sentence: 'This form was sent from a page that is not part of this sign-in service, so nothing was done. Open the page on this service and try again.',
    way: 'start',
  },
  too_many_sign_ins: TOO_MANY,
  too_many_requests: TOO_MANY,
  target_secret_missing: NOT_SET_UP,
  target_no_signing_key: NOT_SET_UP,
  target_embedding_secret_missing: NOT_SET_UP,
  payload_too_large: BAD_REQUEST,
  malformed_body: BAD_REQUEST,
  undecodable_body: BAD_REQUEST,
  unsupported_content_encoding: {
    title: 'That did not work',
    sentence: 'Your browser sent the page compressed in a way this sign-in service cannot read. Go back and try again.',
    way: 'start',
  },
  validation_failed: BAD_REQUEST,
  forbidden: NOT_ALLOWED,
  // Host-app hand-off (src/inbound/handoff.errors.ts).
  replay: {
    title: 'This link was already used',
    sentence: 'The sign-in link from your app works only once. Go back to the app and open the page again.',
    way: 'start',
  },
  assertion_expired: {
    title: 'This link has expired',
    sentence: 'The sign-in link from your app is only valid for a few minutes. Go back to the app and open the page again.',
    way: 'start',
  },
  unknown_user: {
    title: 'No account here yet',
    sentence: 'Your organization has not set up your account on this sign-in service. Ask your administrator.',
    way: 'start',
  },
  tenant_disabled: ACCOUNT_DISABLED,
  user_disabled: ACCOUNT_DISABLED,
  email_domain_owned: {
    title: 'We could not sign you in',
    sentence: 'Your email address belongs to another organization on this sign-in service. Ask your administrator to resolve this.',
    way: 'start',
  },
  assertion_missing: HANDOFF_UNUSABLE,
  assertion_too_large: HANDOFF_UNUSABLE,
  assertion_malformed: HANDOFF_UNUSABLE,
  bad_signature: HANDOFF_UNUSABLE,
  invalid_times: HANDOFF_UNUSABLE,
  iat_in_future: HANDOFF_UNUSABLE,
  assertion_not_yet_valid: HANDOFF_UNUSABLE,
  unsupported_crit: HANDOFF_UNUSABLE,
  assertion_too_long_lived: HANDOFF_UNUSABLE,
  missing_jti: HANDOFF_UNUSABLE,
  invalid_email: HANDOFF_UNUSABLE,
  invalid_claims: HANDOFF_UNUSABLE,
};

export function copyFor(status: number, code: string, productCopy: Readonly<Record<string, Copy>> = {}): Copy {
  // Postgres unreachable (HttpErrorFilter): a 503 that will pass, not a fault of ours.
  if (code === 'database_unavailable') return UNAVAILABLE;
  if (status >= 500) return BROKEN;
  if (Object.prototype.hasOwnProperty.call(BY_CODE, code)) return BY_CODE[code];
  if (Object.prototype.hasOwnProperty.call(productCopy, code)) return productCopy[code];
  if (status === 401) return SIGN_IN;
  if (status === 403) return NOT_ALLOWED;
  if (status === 404) return NOT_FOUND;
  if (status === 409) return NOT_SET_UP;
  if (status === 429) return TOO_MANY;
  return BAD_REQUEST;
}

/**
 * Where "Try again" may point: the request itself when it was a GET/HEAD whose URL is a plain
 * path on this service. Never `//host` or `/\\host` (browsers read both as another host), nor
 * anything with whitespace or control characters (browsers drop tabs and newlines from URLs,
 * so `/\t/host` would become `//host`).
 */
export function retryPathOf(method: string, originalUrl: string, basePath: string): string | null {
  if (method !== 'GET' && method !== 'HEAD') return null;
  const path = safeLocalPath(originalUrl);
  return path ? `${basePath}${path}` : null;
}

export interface ErrorPageView {
  status: number;
  code: string;
  requestId: string | undefined;
  /** PUBLIC_URL's path ('' at the root). */
  basePath: string;
  /** The session's tenant, when there is one: its look and its login page. */
  tenant: { slug: string; brand: Brand } | null;
  /** The request's own path and query when it was a GET (for "Try again"), else null. */
  retryPath: string | null;
  /** The products' words for their own codes (their definitions' errorCopy). */
  productCopy?: Readonly<Record<string, Copy>>;
}

export function errorPage(v: ErrorPageView): Page {
  const copy = copyFor(v.status, v.code, v.productCopy);
  const brand = v.tenant?.brand ?? null;
  const login = `${v.basePath}/login${v.tenant ? `?tenant=${encodeURIComponent(v.tenant.slug)}` : ''}`;
  const actions: SafeHtml[] = [];
  const primary = (href: string, label: string) => html`<li><a class="button" href="${href}">${label}</a></li>`;
  const secondary = (href: string, label: string) => html`<li><a href="${href}">${label}</a></li>`;
  switch (copy.way) {
    case 'retry':
      actions.push(v.retryPath ? primary(v.retryPath, 'Try again') : primary(login, 'Sign in again'));
      break;
    case 'sign-in':
      actions.push(primary(login, 'Sign in again'));
      break;
    case 'other-account':
      // GET /logout with a return_to on this service ends the session and goes on to it.
      actions.push(primary(`${v.basePath}/logout?return_to=${encodeURIComponent(login)}`, 'Sign in with another account'));
      break;
    case 'start':
      actions.push(primary(login, 'Go to sign in'));
      break;
  }
  const app = brand ? webUrl(brand.appUrl) : null;
  // The tenant's name in quotes: its own words, not a sentence of ours.
  if (app && brand) actions.push(secondary(app, `Back to “${brand.name}”`));
  return renderPage({
    title: copy.title,
    brand,
    main: html`<h1>${copy.title}</h1>
<p>${copy.sentence}</p>
<ul class="actions">${actions}</ul>
${supportLine(brand) || html`<p class="support">If this keeps happening, contact your administrator.</p>`}
<p class="ref">Reference for support: <code>${v.requestId ?? '-'}</code> · ${v.status} ${v.code}</p>`,
  });
}
