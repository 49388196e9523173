import { MfaModule } from '../mfa/mfa.module';
import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { ConsoleApiKeysController, ConsoleGlobalApiKeysController } from './console-api-keys.controller';
import { ConsoleHandoffController } from './console-handoff.controller';
import { InboundModule } from '../inbound/inbound.module';
import { AuthModule } from '../auth/auth.module';
import { IdentitiesModule } from '../identities/identities.module';
import { CatalogModule } from '../catalog/catalog.module';
import { TenantsModule } from '../tenants/tenants.module';
import { UsersModule } from '../users/users.module';
import { ConsoleErrorFilter, ConsoleKit } from './console-kit';
import { ConsoleAccessController } from './console-access.controller';
import { ConsoleAuditController } from './console-audit.controller';
import { ConsoleOutboxController } from './console-outbox.controller';
import { ConsoleInvitationsController } from './console-invitations.controller';
import { AccountsModule } from '../auth/accounts/accounts.module';
import { MailModule } from '../mail/mail.module';
import { ConsoleStreamsController } from './console-streams.controller';
import { StreamsModule } from '../streams/streams.module';
import { ConsoleSignInController } from './console-sign-in.controller';
import { ConsoleTargetsController } from './console-targets.controller';
import { ConsoleTenantsController } from './console-tenants.controller';
import { ConsoleController } from './console.controller';
import { OperatorBootstrap, OperatorsService } from './operators.service';

/** The operator console (/console) and the platform operators who use it. */
@Module({
  imports: [AuditModule, AuthModule, TenantsModule, UsersModule, CatalogModule, IdentitiesModule, MailModule, AccountsModule, MfaModule, StreamsModule, InboundModule],
  controllers: [ConsoleController, ConsoleTenantsController, ConsoleTargetsController, ConsoleAccessController, ConsoleAuditController, ConsoleOutboxController, ConsoleInvitationsController, ConsoleStreamsController, ConsoleApiKeysController, ConsoleGlobalApiKeysController, ConsoleHandoffController, ConsoleSignInController],
  providers: [OperatorsService, OperatorBootstrap, ConsoleKit, ConsoleErrorFilter],
  exports: [OperatorsService],
})
export class ConsoleModule {}
