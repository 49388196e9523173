/**
 * Every error code BI identities and email domains can answer with (the `error` of the JSON
 * answer). One list, so a reader sees every refusal in one place.
 */
export enum IdentitiesError {
  BiIdentityNotFound = 'bi_identity_not_found',
  EmailDomainInUse = 'email_domain_in_use',
  EmailDomainNotFound = 'email_domain_not_found',
  EmailDomainOwned = 'email_domain_owned',
  EmailDomainTaken = 'email_domain_taken',
  FilterRequired = 'filter_required',
  IdentityOwnedElsewhere = 'identity_owned_elsewhere',
  InvalidDomain = 'invalid_domain',
  InvalidInstance = 'invalid_instance',
  TenantNotFound = 'tenant_not_found',
}
