import { CreateSchema1763700000000 } from './1763700000000-CreateSchema';
import { AddUsersEmailIndex1763800000000 } from './1763800000000-AddUsersEmailIndex';
import { AddBiIdentities1764000000000 } from './1764000000000-AddBiIdentities';
import { AddSecretsCheck1764300000000 } from './1764300000000-AddSecretsCheck';
import { TargetSecretsMapAndKindAsText1764400000000 } from './1764400000000-TargetSecretsMapAndKindAsText';
import { AddHandoff1764500000000 } from './1764500000000-AddHandoff';
import { AddRolesAndOperatorTenant1764600000000 } from './1764600000000-AddRolesAndOperatorTenant';
import { AddTenantBranding1764700000000 } from './1764700000000-AddTenantBranding';
import { AddLoginAttemptCounts1764850000000 } from './1764850000000-AddLoginAttemptCounts';
import { AddTargetSigningKeys1765100000000 } from './1765100000000-AddTargetSigningKeys';
import { AddTrustedIssuers1765200000000 } from './1765200000000-AddTrustedIssuers';
import { AddUpstreamOidc1765200000001 } from './1765200000001-AddUpstreamOidc';
import { AddTenantPasswordSignIn1765250000000 } from './1765250000000-AddTenantPasswordSignIn';
import { AddSessionOpenedBy1765250000001 } from './1765250000001-AddSessionOpenedBy';
import { AddMailOutbox1765300000000 } from './1765300000000-AddMailOutbox';
import { AddAccountLinks1765310000000 } from './1765310000000-AddAccountLinks';
import { AddMfa1765350000000 } from './1765350000000-AddMfa';
import { PartitionAuditEvents1765500000000 } from './1765500000000-PartitionAuditEvents';
import { AddAuditStreams1765510000000 } from './1765510000000-AddAuditStreams';
import { NotifyAuditStreamDeliveries1765550000000 } from './1765550000000-NotifyAuditStreamDeliveries';
import { AddAuditStreamPreviousSecret1765550000001 } from './1765550000001-AddAuditStreamPreviousSecret';
import { DropAuditStreamDeliveriesNotify1766100000000 } from './1766100000000-DropAuditStreamDeliveriesNotify';
import { DropDuplicateLegacyAuditIndex1766100000001 } from './1766100000001-DropDuplicateLegacyAuditIndex';
import { TrustedIssuerTokensSpentOnce1766810000000 } from './1766810000000-TrustedIssuerTokensSpentOnce';

/** Every migration, in order. `npm run migration:generate` appends here. */
export const MIGRATIONS = [
  CreateSchema1763700000000,
  AddUsersEmailIndex1763800000000,
  AddBiIdentities1764000000000,
  AddSecretsCheck1764300000000,
  TargetSecretsMapAndKindAsText1764400000000,
  AddHandoff1764500000000,
  AddRolesAndOperatorTenant1764600000000,
  AddTenantBranding1764700000000,
  AddLoginAttemptCounts1764850000000,
  AddTargetSigningKeys1765100000000,
  AddTrustedIssuers1765200000000,
  AddUpstreamOidc1765200000001,
  AddTenantPasswordSignIn1765250000000,
  AddSessionOpenedBy1765250000001,
  AddMailOutbox1765300000000,
  AddAccountLinks1765310000000,
  AddMfa1765350000000,
  PartitionAuditEvents1765500000000,
  AddAuditStreams1765510000000,
  NotifyAuditStreamDeliveries1765550000000,
  AddAuditStreamPreviousSecret1765550000001,
  DropAuditStreamDeliveriesNotify1766100000000,
  DropDuplicateLegacyAuditIndex1766100000001,
  TrustedIssuerTokensSpentOnce1766810000000,
];
