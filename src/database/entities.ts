import { ApiKey } from '../auth/api-key.entity';
import { LoginThrottle } from '../auth/login-throttle.entity';
import { Session } from '../auth/session.entity';
import { AuditEvent } from '../audit/audit-event.entity';
import { AuditStream, AuditStreamDelivery } from '../streams/audit-stream.entity';
import { ConsumedAssertion } from '../handoff/consumed-assertion.entity';
import { HandoffSecret } from '../handoff/handoff-secret.entity';
import { HandoffSettings } from '../handoff/handoff-settings.entity';
import { SecretsCheck } from '../crypto/secrets-check.entity';
import { Access } from '../catalog/access.entity';
import { IatSequence } from '../issuance/iat-sequence.entity';
import { IssuedToken } from '../issuance/issued-token.entity';
import { Target } from '../catalog/target.entity';
import { BiIdentity } from '../identities/bi-identity.entity';
import { EmailDomain } from '../identities/email-domain.entity';
import { Tenant } from '../tenants/tenant.entity';
import { GroupMember } from '../users/group-member.entity';
import { Group } from '../users/group.entity';
import { User } from '../users/user.entity';

/** Every entity, listed once, for the app and the migration CLI alike. */
export const ENTITIES = [
  Tenant,
  User,
  Group,
  GroupMember,
  Target,
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
  SecretsCheck,
  AuditStream,
  AuditStreamDelivery,
];
