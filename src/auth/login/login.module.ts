import { DynamicModule, Module, Type } from '@nestjs/common';
import { AuditModule } from '../../audit/audit.module';
import { TenantsModule } from '../../tenants/tenants.module';
import { UsersModule } from '../../users/users.module';
import { AuthModule } from '../auth.module';
import { AccountController } from './account.controller';
import { LocalStrategy } from './local.strategy';
import { LoginController } from './login.controller';
import { LoginFormFilter } from './login-form.filter';
import { LocalLoginGuard, LoginFormGuard } from './login.guards';
import { LoginPagesService } from './login-pages.service';
import { LoginThrottleModule } from './login-throttle.module';
import { LoginService } from './login.service';
import { LogoutController } from './logout.controller';
import { LogoutService } from './logout.service';
import { MfaModule } from '../../mfa/mfa.module';
import { MfaController } from './mfa.controller';

/**
 * The front door: login page, password login with lockout, logout, the signed-in page.
 * Separate from AuthModule (the guard, sessions, API keys; imported by every module with
 * routes) so that one stays small. Logout also ends the BI sessions the session opened:
 * the SSO module provides BI_LOGOUT (bi-logout.ts) but depends on this folder, so AppModule
 * hands it over: `LoginModule.withBiLogout(IssuanceModule, InboundModule)`. Likewise the inbound
 * module's COMPANY_SIGN_IN (company-sign-in.ts): whether a tenant has its own identity provider,
 * for the tenant setting that turns passwords off.
 */
@Module({})
export class LoginModule {
  static withBiLogout(biLogoutProvider: Type<unknown>, companySignInProvider?: Type<unknown>): DynamicModule {
    return {
      module: LoginModule,
      imports: [AuditModule, AuthModule, TenantsModule, UsersModule, MfaModule, LoginThrottleModule, biLogoutProvider, ...(companySignInProvider ? [companySignInProvider] : [])],
      controllers: [LoginController, MfaController, LogoutController, AccountController],
      providers: [
        LoginService,
        LoginPagesService,
        LocalStrategy,
        LoginFormGuard,
        LocalLoginGuard,
        LoginFormFilter,
        LogoutService,
      ],
    };
  }
}
