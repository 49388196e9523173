import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { CatalogModule } from '../catalog/catalog.module';
import { AuthModule } from '../auth/auth.module';
import { CryptoModule } from '../crypto/crypto.module';
import { BI_LOGOUT } from '../auth/bi-logout';
import { InboundModule } from '../inbound/inbound.module';
import { HealthModule } from '../health/health.module';
import { IdentitiesModule } from '../identities/identities.module';
import { MetricsModule } from '../metrics/metrics.module';
import { UsersModule } from '../users/users.module';
import { BiLogoutService } from './bi-logout.service';
import { DemoController } from './demo/demo.controller';
import { EmbedController } from './embed.controller';
import { JwksController } from './jwks.controller';
import { EmbedService } from './embed.service';
import { JsonTokenService } from './json-token.service';
import { BrokerService } from './broker.service';
import { IssuedTokensPruner } from './issued-tokens-pruner';
import { RemoteLogoutService } from './remote-logout.service';
import { SigningKeyCache } from './signing-key-cache';
import { TargetKeyring } from './target-keyring';
import { SsoController } from './sso.controller';
import { HandshakeLimiter } from './handshake-limit';
import { SsoFastPath } from './sso-fast-path';
import { HandoffFastPath } from './handoff-fast-path';
import { SsoService } from './sso.service';
import { SsoRepository } from './sso.repository';

/**
 * Exports BI_LOGOUT for the front door's logout (src/auth), which cannot import this module
 * (this one depends on it): AppModule hands it over, see LoginModule.withBiLogout.
 */
@Module({
  imports: [
    CatalogModule,
    AuditModule,
    AuthModule,
    CryptoModule,
    IdentitiesModule,
    UsersModule,
    InboundModule,
    MetricsModule,
    HealthModule,
  ],
  controllers: [SsoController, EmbedController, DemoController, JwksController],
  providers: [
    SsoRepository,
    SigningKeyCache,
    TargetKeyring,
    SsoService,
    RemoteLogoutService,
    EmbedService,
    JsonTokenService,
    BrokerService,
    IssuedTokensPruner,
    BiLogoutService,
    SsoFastPath,
    HandoffFastPath,
    HandshakeLimiter,
    { provide: BI_LOGOUT, useExisting: BiLogoutService },
  ],
  exports: [SsoService, SsoFastPath, BI_LOGOUT],
})
export class IssuanceModule {}
