import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module';
import { BiIdentity } from './bi-identity.entity';
import { EmailDomain } from './email-domain.entity';
import { IdentitiesService } from './identities.service';

/** Owns bi_identities and email_domains: who may present which email to which BI instance. */
@Module({
  imports: [TypeOrmModule.forFeature([BiIdentity, EmailDomain]), AuditModule],
  providers: [IdentitiesService],
  exports: [IdentitiesService],
})
export class IdentitiesModule {}
