/**
 * Every error code the console's own pages answer with (beyond what the domain services they
 * call answer). One list, so a reader sees every refusal in one place.
 */
export enum ConsoleError {
  ApiKeyNotFound = 'api_key_not_found',
  AuditStreamNotFound = 'audit_stream_not_found',
  GroupNotFound = 'group_not_found',
  ProductNotFound = 'product_not_found',
  SessionNotFound = 'session_not_found',
  TargetNotFound = 'target_not_found',
  TenantNotFound = 'tenant_not_found',
  UserNotFound = 'user_not_found',
}
