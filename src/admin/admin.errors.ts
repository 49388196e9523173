/**
 * Every error code the admin API (beyond what the domain services it calls answer) can answer
 * with (the `error` of the JSON answer). One list, so a reader sees every refusal in one
 * place.
 */
export enum AdminError {
  ApiKeyNotFound = 'api_key_not_found',
  AuditStreamNotFound = 'audit_stream_not_found',
  InvalidAuditStream = 'invalid_audit_stream',
  GlobalKeyRequired = 'global_key_required',
  GroupNotFound = 'group_not_found',
  InvalidRange = 'invalid_range',
  SessionNotFound = 'session_not_found',
  TargetNotFound = 'target_not_found',
  TenantNotFound = 'tenant_not_found',
  UserNotFound = 'user_not_found',
}
