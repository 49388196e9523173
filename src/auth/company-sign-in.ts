import type { Tenant } from '../tenants/tenant.entity';

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

/**
 * True when the tenant turned passwords off and has its own identity provider: no password
 * signs its people in, and none is set for them (invitations, resets). Never for the
 * operators' tenant: a broken provider must not lock the operators out of the console.
 */
export async function passwordsRefused(tenant: Pick<Tenant, 'id' | 'operator' | 'passwordSignIn'> | null, companySignIn: CompanySignIn | null | undefined): Promise<boolean> {
  if (!tenant || tenant.operator || tenant.passwordSignIn || !companySignIn) return false;
  return companySignIn.hasProvider(tenant.id);
}
