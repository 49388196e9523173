/** Who is calling the admin API: a global key (tenantId null) or one scoped to a tenant. */
export interface AdminPrincipal {
  keyId: string;
  tenantId: string | null;
}

/** A live browser session with the user and tenant it belongs to (both enabled). */
export interface SessionContext {
  /** sha256 of the cookie token. */
  id: string;
  createdAt: Date;
  expiresAt: Date;
  targetsUsed: string[];
  user: { id: string; email: string; firstName: string; lastName: string; attributes: Record<string, string | number | boolean> };
  tenant: { id: string; slug: string; name: string; attributes: Record<string, string | number | boolean> };
}
