import { Module } from '@nestjs/common';
import { AuditModule } from '../../audit/audit.module';
import { MailModule } from '../../mail/mail.module';
import { MfaModule } from '../../mfa/mfa.module';
import { TenantsModule } from '../../tenants/tenants.module';
import { UsersModule } from '../../users/users.module';
import { AuthModule } from '../auth.module';
import { LoginThrottleModule } from '../login/login-throttle.module';
import { AccountsController } from './accounts.controller';
import { AccountsService } from './accounts.service';

/** Invitations, password resets and changes (accounts.service.ts); the admin API and the console invite through it. */
@Module({
  imports: [AuditModule, AuthModule, TenantsModule, UsersModule, MailModule, MfaModule, LoginThrottleModule],
  controllers: [AccountsController],
  providers: [AccountsService],
  exports: [AccountsService],
})
export class AccountsModule {}
