import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
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
import { DatabricksDemoController } from './demo/databricks-demo.controller';
import { EmbedController } from './embed.controller';
import { EmbedService } from './embed.service';
import { BrokerService } from './broker.service';
import { IssuedTokensPruner } from './issued-tokens-pruner';
import { RemoteLogoutService } from './remote-logout.service';
import { SigningKeyCache } from './signing-key-cache';
import { SsoController } from './sso.controller';
import { HandshakeLimiter } from './handshake-limit';
import { SsoFastPath } from './sso-fast-path';
import { SsoService } from './sso.service';
import { SsoRepository } from './sso.repository';

/**
 * Exports BI_LOGOUT for the front door's logout (src/auth), which cannot import this module
 * (this one depends on it): AppModule hands it over, see LoginModule.withBiLogout.
 */
@Module({
  // No module-wide secret: every target has its own, passed per call as a cached KeyObject.
  imports: [
    CatalogModule,
    AuditModule,
    AuthModule,
    CryptoModule,
    JwtModule.register({}),
    IdentitiesModule,
    UsersModule,
    InboundModule,
    MetricsModule,
    HealthModule,
  ],
  controllers: [SsoController, EmbedController, DatabricksDemoController],
  providers: [
    SsoRepository,
    SigningKeyCache,
    SsoService,
    RemoteLogoutService,
    EmbedService,
    BrokerService,
    IssuedTokensPruner,
    BiLogoutService,
    SsoFastPath,
    HandshakeLimiter,
    { provide: BI_LOGOUT, useExisting: BiLogoutService },
  ],
  exports: [SsoService, SsoFastPath, BI_LOGOUT],
})
export class IssuanceModule {}
