import { DomainError } from '../../common/errors';
import { isEmailAddress, isSlug } from '../../common/identifiers';
import { safeLocalPath } from '../../common/redirects';
import type { LoginField } from './pages';
import { AuthError } from '../auth.errors';

/** What the visitor sees for every credential failure, whatever the real reason. */
export const GENERIC_FAILURE = 'The organization, email or password is not right. Check them and try again.';

export const LIMITS = { tenant: 63, email: 254, password: 1024 } as const;

/** The login form's whole body, at most (its fields fit many times over). */
export const LOGIN_BODY_LIMIT = '20kb';

/**
 * Set on a POST /login whose body was over LOGIN_BODY_LIMIT: the body is not parsed, and the
 * form is shown again with a 400 (issue: "oversized fields -> the form again") instead of
 * the generic 413 page.
 */
export const LOGIN_BODY_TOO_LARGE = Symbol('loginBodyTooLarge');

/** A submitted login form that passed the shape checks. */
export interface LoginForm {
  tenant: string;
  /** Trimmed and lower-cased: emails are compared lower-cased (users.email is stored so). */
  email: string;
  password: string;
  /** A validated continuation, or null when absent or not a path on this service (ignored). */
  next: string | null;
}

/**
 * Why the form is shown again. `status` is the HTTP status; `message` and `fieldErrors` are
 * for the visitor; `internal` (e.g. the real login failure reason) only reaches the log.
 */
export class LoginRejected extends DomainError {
  constructor(
    code: 'invalid_form' | 'csrf_failed' | 'cross_site' | 'login_failed' | 'too_many_attempts' | 'company_sign_in_required',
    status: number,
    message: string,
    readonly fieldErrors: Partial<Record<LoginField, string>> = {},
    readonly retryAfterSeconds?: number,
    internal?: string,
  ) {
    super(code, status, message, undefined, internal);
    this.name = 'LoginRejected';
  }
}


/**
 * Checks the fields' presence, type and size (a repeated field arrives as an array and is
 * refused). Throws LoginRejected(400) naming each bad field; nothing is looked up or stored.
 */
export function parseLoginForm(body: unknown, publicUrl: string): LoginForm {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const errors: Partial<Record<LoginField, string>> = {};
  const text = (name: LoginField, label: string, trim: boolean): string => {
    const v = b[name];
    if (v !== undefined && typeof v !== 'string') {
      errors[name] = `${label} must be given once.`;
      return '';
    }
    const s = trim ? (v ?? '').trim() : (v ?? '');
    if (!s) errors[name] = `Enter your ${label.toLowerCase()}.`;
    // NUL and unpaired surrogates cannot be stored or looked up in Postgres (a 500 there).
    else if (/\u0000|[\ud800-\udfff]/.test(s.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''))) errors[name] = `${label} contains a character that is not allowed.`;
    else if (s.length > LIMITS[name]) errors[name] = `${label} is too long (at most ${LIMITS[name]} characters).`;
    return s;
  };
  const tenant = text('tenant', 'Organization', true).toLowerCase();
  const email = text('email', 'Email', true).toLowerCase();
  const password = text('password', 'Password', false);
  if (!errors.tenant && !isSlug(tenant)) {
    errors.tenant = 'Organization is the short name you were given (letters, digits and dashes).';
  }
  if (!errors.email && !isEmailAddress(email)) errors.email = 'Enter an email address like name@example.com.';
  const next = safeLocalPath(b.next, publicUrl);
  const form = { tenant, email, password, next };
  if (Object.keys(errors).length) {
    throw new LoginRejected(AuthError.InvalidForm, 400, 'Some fields need your attention.', errors, undefined, `invalid fields: ${Object.keys(errors).join(', ')}`);
  }
  return form;
}

/** The submitted values to put back in a re-rendered form (never the password). */
export function echoFields(body: unknown, publicUrl: string): { tenant: string; email: string; next: string | null } {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const str = (v: unknown, max: number) => (typeof v === 'string' ? v.trim().slice(0, max) : '');
  return {
    tenant: str(b.tenant, LIMITS.tenant).toLowerCase(),
    email: str(b.email, LIMITS.email),
    next: safeLocalPath(b.next, publicUrl),
  };
}
