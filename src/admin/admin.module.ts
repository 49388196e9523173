import { AccountsModule } from '../auth/accounts/accounts.module';
import { InvitationsController } from './invitations.controller';
import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { AuthModule } from '../auth/auth.module';
import { IdentitiesModule } from '../identities/identities.module';
import { CatalogModule } from '../catalog/catalog.module';
import { TenantsModule } from '../tenants/tenants.module';
import { UsersModule } from '../users/users.module';
import { AccessController } from './access.controller';
import { ApiKeysController } from './api-keys.controller';
import { AuditController } from './audit.controller';
import { AuditStreamsController } from './audit-streams.controller';
import { StreamsModule } from '../streams/streams.module';
import { BiIdentitiesController } from './bi-identities.controller';
import { EmailDomainsController } from './email-domains.controller';
import { GroupsController } from './groups.controller';
import { SessionsController } from './sessions.controller';
import { TargetsController } from './targets.controller';
import { TenantsController } from './tenants.controller';
import { UsersController } from './users.controller';
import { MfaAdminController } from './mfa.controller';
import { MfaModule } from '../mfa/mfa.module';

@Module({
  imports: [AuditModule, AuthModule, AccountsModule, TenantsModule, UsersModule, CatalogModule, IdentitiesModule, MfaModule, StreamsModule],
  controllers: [
    TenantsController,
    UsersController,
    GroupsController,
    TargetsController,
    AccessController,
    ApiKeysController,
    AuditController,
    AuditStreamsController,
    SessionsController,
    MfaAdminController,
    EmailDomainsController,
    BiIdentitiesController,
    InvitationsController,
  ],
  providers: [],
  exports: [],
})
export class AdminModule {}
