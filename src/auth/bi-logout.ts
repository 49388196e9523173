/**
 * Contract between the front door (login/logout, src/auth) and the SSO module, which
 * provides it (token BI_LOGOUT, handed to LoginModule by AppModule) — so auth does not import sso.
 */
export const BI_LOGOUT = Symbol('BI_LOGOUT');

export interface BiLogout {
  /**
   * Browser URLs that end the BI sessions this session opened (Metabase `/auth/logout`,
   * Sisense `/api/v1/authentication/logout`); our logged-out page loads each in a hidden iframe.
   */
  urlsFor(session: { tenantId: string; targetsUsed: string[] }): Promise<string[]>;
  /** True when `url` is a logout landing page registered on a target the tenant may use. */
  isTargetLandingPage(url: string, tenantId: string): Promise<boolean>;
}
