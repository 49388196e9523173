/**
 * Every error code API keys, sessions and the login form can answer with (the `error` of the
 * JSON answer). One list, so a reader sees every refusal in one place.
 */
export enum AuthError {
  ApiKeyNotFound = 'api_key_not_found',
  /** The tenant turned passwords off: its people sign in with their company account. */
  CompanySignInRequired = 'company_sign_in_required',
  CsrfFailed = 'csrf_failed',
  /** A state-changing browser request sent from a page of another origin (common/same-origin.ts). */
  CrossSite = 'cross_site',
  Forbidden = 'forbidden',
  GlobalKeyRequired = 'global_key_required',
  InvalidForm = 'invalid_form',
  LoginFailed = 'login_failed',
  OperatorOnlyField = 'operator_only_field',
  ReservedName = 'reserved_name',
  SessionNotFound = 'session_not_found',
  TenantNotFound = 'tenant_not_found',
  TooManyAttempts = 'too_many_attempts',
  Unauthorized = 'unauthorized',
}
