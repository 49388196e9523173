/**
 * Every error code SSO, embedding and the token broker can answer with (the `error` of the
 * JSON answer). One list, so a reader sees every refusal in one place; a product's own codes
 * are in its file under targets/ (DatabricksError, MetabaseError), as everything about it is.
 */
export enum SsoError {
  // Also `target_<secret>_missing` (409), one per secret a product declares (see signingKey).
  AccessGrantNotFound = 'access_grant_not_found',
  AccountDisabled = 'account_disabled',
  BrokerNotSupported = 'broker_not_supported',
  EmbedNotSupported = 'embed_not_supported',
  EmptyUpdate = 'empty_update',
  EntityNotAllowed = 'entity_not_allowed',
  GuestEmbedNotSupported = 'guest_embed_not_supported',
  IdentityConflict = 'identity_conflict',
  InvalidAccess = 'invalid_access',
  InvalidBody = 'invalid_body',
  InvalidEmbedKind = 'invalid_embed_kind',
  InvalidId = 'invalid_id',
  InvalidReturnTo = 'invalid_return_to',
  InvalidTarget = 'invalid_target',
  KeyRotationPending = 'key_rotation_pending',
  NoAccess = 'no_access',
  NoSession = 'no_session',
  OriginNotAllowed = 'origin_not_allowed',
  SsoJsonNotSupported = 'sso_json_not_supported',
  SsoNotSupported = 'sso_not_supported',
  SsoRedirectNotSupported = 'sso_redirect_not_supported',
  TargetDisabled = 'target_disabled',
  TargetNoSigningKey = 'target_no_signing_key',
  TargetNotFound = 'target_not_found',
  TargetNotKeyPair = 'target_not_key_pair',
  TargetSlugTaken = 'target_slug_taken',
  TokenNotSupported = 'token_not_supported',
  TooManySignIns = 'too_many_sign_ins',
  UnknownGroups = 'unknown_groups',
}
