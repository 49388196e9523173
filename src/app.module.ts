import { Module, ValidationPipe } from '@nestjs/common';
import { validationException } from './common/validation-messages';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { LoggerModule } from 'nestjs-pino';
import { AdminModule } from './admin/admin.module';
import { AuditModule, AuditUpkeepModule } from './audit/audit.module';
import { AuthGuard } from './auth/auth.guard';
import { AuthModule } from './auth/auth.module';
import { AccountsModule } from './auth/accounts/accounts.module';
import { LoginModule } from './auth/login/login.module';
import { ERROR_PAGE_COPY, HttpErrorFilter } from './common/http-error.filter';
import { productErrorCopy } from './products';
import { InputSanityPipe } from './common/input-sanity.pipe';
import { loggerParams } from './common/logging';
import { AppConfigModule, configToken } from './config/config.module';
import { Config } from './config/configuration';
import { ConsoleModule } from './console/console.module';
import { CryptoModule } from './crypto/crypto.module';
import { DatabaseModule } from './database/database.module';
import { InboundModule } from './inbound/inbound.module';
import { HealthModule } from './health/health.module';
import { LandingModule } from './landing/landing.module';
import { MailModule } from './mail/mail.module';
import { MetricsModule } from './metrics/metrics.module';
import { CatalogModule } from './catalog/catalog.module';
import { IssuanceModule } from './issuance/issuance.module';
import { TenantsModule } from './tenants/tenants.module';
import { UsersModule } from './users/users.module';

/**
 * Wires the modules and the global pipeline. The guard, pipe and filter are providers here
 * (not set in main.ts) so the HTTP specs (test/medium) run exactly the production request pipeline.
 */
@Module({
  imports: [
    AppConfigModule,
    LoggerModule.forRootAsync({ inject: [configToken('app')], useFactory: (app: Config<'app'>) => loggerParams(app) }),
    ScheduleModule.forRoot(),
    CryptoModule,
    DatabaseModule,
    MetricsModule,
    AuditModule,
    AuditUpkeepModule,
    AuthModule,
    LoginModule.withBiLogout(IssuanceModule, InboundModule),
    AccountsModule,
    HealthModule,
    TenantsModule,
    MailModule,
    UsersModule,
    CatalogModule,
    IssuanceModule,
    InboundModule,
    AdminModule,
    LandingModule,
    ConsoleModule,
  ],
  providers: [
    { provide: APP_GUARD, useExisting: AuthGuard },
    // Pipes run in this order: the sanity checks first, so nothing malformed reaches validation.
    { provide: APP_PIPE, useClass: InputSanityPipe },
    {
      provide: APP_PIPE,
      // Messages for a person (the field by its label, no validator jargon); the JSON path of
      // each problem in `details.fields`, for programs.
      useValue: new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true, exceptionFactory: validationException }),
    },
    { provide: ERROR_PAGE_COPY, useValue: productErrorCopy() },
    { provide: APP_FILTER, useClass: HttpErrorFilter },
  ],
})
export class AppModule {}
