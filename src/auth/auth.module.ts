import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { TenantsModule } from '../tenants/tenants.module';
import { ApiKey } from './api-key.entity';
import { ApiKeysService } from './api-keys.service';
import { AuthGuard } from './auth.guard';
import { LoginThrottle } from './login-throttle.entity';
import { Session } from './session.entity';
import { SessionsService } from './sessions.service';

@Global()
@Module({
  // TenantsModule: the guard resolves a tenant slug in an admin path to its id.
  imports: [TypeOrmModule.forFeature([ApiKey, Session, LoginThrottle]), TenantsModule],
  providers: [ApiKeysService, SessionsService, AuthGuard],
  exports: [ApiKeysService, SessionsService, AuthGuard],
})
export class AuthModule {}
