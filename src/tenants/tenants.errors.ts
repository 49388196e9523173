/**
 * Every error code tenants can answer with (the `error` of the JSON answer). One list, so a
 * reader sees every refusal in one place.
 */
export enum TenantsError {
  OperatorTenantProtected = 'operator_tenant_protected',
  TenantNotFound = 'tenant_not_found',
  TenantSlugReserved = 'tenant_slug_reserved',
  TenantSlugTaken = 'tenant_slug_taken',
}
