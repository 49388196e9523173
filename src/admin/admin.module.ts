import { Module } from '@nestjs/common';
import { SsoModule } from '../sso/sso.module';
import { TenantsModule } from '../tenants/tenants.module';
import { UsersModule } from '../users/users.module';
import { AccessController } from './access.controller';
import { ApiKeysController } from './api-keys.controller';
import { AuditController } from './audit.controller';
import { GroupsController } from './groups.controller';
import { SessionsController } from './sessions.controller';
import { TargetsController } from './targets.controller';
import { TenantsController } from './tenants.controller';
import { UsersController } from './users.controller';

@Module({
  imports: [TenantsModule, UsersModule, SsoModule],
  controllers: [TenantsController, UsersController, GroupsController, TargetsController, AccessController, ApiKeysController, AuditController, SessionsController],
  providers: [],
  exports: [],
})
export class AdminModule {}
