import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { AuthModule } from '../auth/auth.module';
import { CryptoModule } from '../crypto/crypto.module';
import { TenantsModule } from '../tenants/tenants.module';
import { UsersModule } from '../users/users.module';
import { ConsumedAssertionsPruner } from './consumed-assertions-pruner';
import { HandoffAdminController } from './handoff-admin.controller';
import { HandoffConfigService } from './handoff-config.service';
import { HandoffKeys } from './handoff-keys';
import { HandoffLoginController } from './handoff-login.controller';
import { HandoffService } from './handoff.service';

/**
 * Host-app hand-off (README, "Host-app hand-off"): owns handoff_settings, handoff_secrets
 * and handoff_consumed_assertions. The SSO module imports it for the `assertion` pre-step of
 * /sso/<target>.
 */
@Module({
  imports: [AuditModule, AuthModule, CryptoModule, TenantsModule, UsersModule],
  controllers: [HandoffAdminController, HandoffLoginController],
  providers: [HandoffConfigService, HandoffKeys, HandoffService, ConsumedAssertionsPruner],
  exports: [HandoffService],
})
export class HandoffModule {}
