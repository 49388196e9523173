import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module';
import { TenantsModule } from '../tenants/tenants.module';
import { TenantsService } from '../tenants/tenants.service';
import { UsersModule } from '../users/users.module';
import { UsersService } from '../users/users.service';
import { ApiKey } from './api-key.entity';
import { ApiKeysService } from './api-keys.service';
import { AuthGuard } from './auth.guard';
import { LoginCsrfService } from './login/login-csrf.service';
import { LoginThrottle } from './login-throttle.entity';
import { Session } from './session.entity';
import { SessionsService } from './sessions.service';

@Module({
  // TenantsModule: the guard resolves a tenant slug in an admin path to its id.
  imports: [TypeOrmModule.forFeature([ApiKey, Session, LoginThrottle]), AuditModule, TenantsModule, UsersModule],
  // LoginCsrfService: the login form's and the operator console's CSRF tokens (bound to the session).
  providers: [ApiKeysService, SessionsService, AuthGuard, LoginCsrfService],
  exports: [ApiKeysService, SessionsService, AuthGuard, LoginCsrfService],
})
export class AuthModule {
  // Disabling a tenant or a user (or a new password) ends their sessions in that transaction.
  // The tenants and users modules cannot call SessionsService (this module depends on them):
  // the sessions' owner hands them the way to end sessions.
  constructor(sessions: SessionsService, tenants: TenantsService, users: UsersService) {
    tenants.endSessionsWith((m, tenantId) => sessions.revokeForTenant(tenantId, m));
    users.endSessionsWith((m, tenantId, userId) => sessions.revokeForUser(tenantId, userId, undefined, m));
  }
}
