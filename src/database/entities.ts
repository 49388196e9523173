import { ApiKey } from '../auth/api-key.entity';
import { LoginThrottle } from '../auth/login-throttle.entity';
import { Session } from '../auth/session.entity';
import { AuditEvent } from '../audit/audit-event.entity';
import { ConsumedAssertion } from '../inbound/consumed-assertion.entity';
import { HandoffSecret } from '../inbound/hs256/handoff-secret.entity';
import { HandoffSettings } from '../inbound/hs256/handoff-settings.entity';
import { TrustedIssuer } from '../inbound/trusted-issuer/trusted-issuer.entity';
import { UpstreamProvider } from '../inbound/oidc-upstream/upstream-provider.entity';
import { AuditStream, AuditStreamDelivery } from '../streams/audit-stream.entity';
import { SecretsCheck } from '../crypto/secrets-check.entity';
import { Access } from '../catalog/access.entity';
import { IatSequence } from '../issuance/iat-sequence.entity';
import { IssuedToken } from '../issuance/issued-token.entity';
import { Target } from '../catalog/target.entity';
import { TargetSigningKey } from '../catalog/target-signing-key.entity';
import { BiIdentity } from '../identities/bi-identity.entity';
import { EmailDomain } from '../identities/email-domain.entity';
import { Tenant } from '../tenants/tenant.entity';
import { GroupMember } from '../users/group-member.entity';
import { Group } from '../users/group.entity';
import { User } from '../users/user.entity';
import { MailMessage } from '../mail/mail-message.entity';
import { AccountLink } from '../auth/account-link.entity';
import { MFA_ENTITIES } from '../mfa/mfa.entity';

/** Every entity, listed once, for the app and the migration CLI alike. */
export const ENTITIES = [
  Tenant,
  User,
  Group,
  GroupMember,
  Target,
  TargetSigningKey,
  Access,
  IssuedToken,
  IatSequence,
  ApiKey,
  Session,
  LoginThrottle,
  AuditEvent,
  EmailDomain,
  BiIdentity,
  HandoffSettings,
  HandoffSecret,
  ConsumedAssertion,
  TrustedIssuer,
  UpstreamProvider,
  SecretsCheck,
  MailMessage,
  AccountLink,
  ...MFA_ENTITIES,
  AuditStream,
  AuditStreamDelivery,
];
