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
   * The tenant's IdP's end-session URL for a session company sign-in opened (OpenID Connect
   * RP-Initiated Logout 1.0), and a name for the IdP; null when it publishes none.
   */
  endSession(tenantId: string): Promise<{ url: string; name: string } | null>;
}
