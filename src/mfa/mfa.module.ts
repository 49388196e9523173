import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { CryptoModule } from '../crypto/crypto.module';
import { TenantsModule } from '../tenants/tenants.module';
import { MfaPruner } from './mfa-pruner';
import { MfaService } from './mfa.service';

/** Second factors (README "Two-step verification"): owns the mfa_* tables. */
@Module({
  imports: [AuditModule, CryptoModule, TenantsModule],
  providers: [MfaService, MfaPruner],
  exports: [MfaService],
})
export class MfaModule {}
