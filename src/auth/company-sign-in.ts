/**
 * Contract between the front door (login/logout, src/auth) and the inbound module's company
 * sign-in, which provides it (token COMPANY_SIGN_IN, handed to LoginModule by AppModule) — so
 * auth does not import inbound.
 */
export const COMPANY_SIGN_IN = Symbol('COMPANY_SIGN_IN');

export interface CompanySignIn {
  /** True when the tenant has its own identity provider configured (company sign-in). */
  hasProvider(tenantId: string): Promise<boolean>;
  /**
   * For a session that just ended, opened by `openedBy` (the session's column): the end-session
   * URL of the identity provider it was opened at (e.g. OpenID Connect RP-Initiated Logout 1.0)
   * and a name for it; null when the session was not opened at one, or it publishes none.
   */
  endSession(tenantId: string, openedBy: string | null): Promise<{ url: string; name: string } | null>;
}
