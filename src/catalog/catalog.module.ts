import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module';
import { CryptoModule } from '../crypto/crypto.module';
import { IdentitiesModule } from '../identities/identities.module';
import { UsersModule } from '../users/users.module';
import { Access } from './access.entity';
import { AccessIdentitySources } from './access-identity-sources';
import { AccessService } from './access.service';
import { OutboundGuard } from './outbound';
import { Target } from './target.entity';
import { TargetsService } from './targets.service';
import { TargetKeysService } from './target-keys';
import { TargetSigningKey } from './target-signing-key.entity';

/**
 * The catalog: the BI instances (targets) and which tenant may use which (access), stored as
 * the product definitions in src/products/ describe them. Issuance reads it; the admin API
 * and the console edit it.
 */
@Module({
  imports: [TypeOrmModule.forFeature([Target, Access, TargetSigningKey]), AuditModule, CryptoModule, IdentitiesModule, UsersModule],
  providers: [TargetsService, TargetKeysService, AccessService, AccessIdentitySources, OutboundGuard],
  exports: [TargetsService, TargetKeysService, AccessService, OutboundGuard],
})
export class CatalogModule {}
