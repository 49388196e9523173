import { Module } from '@nestjs/common';
import { TenantsModule } from '../../tenants/tenants.module';
import { UsersModule } from '../../users/users.module';
import { AccountController } from './account.controller';
import { LocalStrategy } from './local.strategy';
import { LoginController } from './login.controller';
import { LoginCsrfService } from './login-csrf.service';
import { LoginFormFilter } from './login-form.filter';
import { LocalLoginGuard, LoginFormGuard } from './login.guards';
import { LoginPagesService } from './login-pages.service';
import { LoginThrottleService } from './login-throttle.service';
import { LoginService } from './login.service';
import { LogoutController } from './logout.controller';
import { LogoutService } from './logout.service';

/**
 * The front door: login page, password login with lockout, logout, the signed-in page.
 * Separate from AuthModule (which is @Global and imported everywhere) so AuthModule stays a
 * leaf and this module can import tenants and users.
 */
@Module({
  imports: [TenantsModule, UsersModule],
  controllers: [LoginController, LogoutController, AccountController],
  providers: [
    LoginService,
    LoginThrottleService,
    LoginCsrfService,
    LoginPagesService,
    LocalStrategy,
    LoginFormGuard,
    LocalLoginGuard,
    LoginFormFilter,
    LogoutService,
  ],
  exports: [LoginThrottleService, LoginCsrfService],
})
export class LoginModule {}
