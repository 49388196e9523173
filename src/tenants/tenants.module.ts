import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '../audit/audit.module';
import { ERROR_PAGE_BRANDING } from '../common/http-error.filter';
import { Tenant } from './tenant.entity';
import { TenantsService } from './tenants.service';

@Module({
  imports: [TypeOrmModule.forFeature([Tenant]), AuditModule],
  // ERROR_PAGE_BRANDING: error pages in the visitor's tenant look (common/http-error.filter.ts).
  providers: [TenantsService, { provide: ERROR_PAGE_BRANDING, useExisting: TenantsService }],
  exports: [TenantsService, ERROR_PAGE_BRANDING],
})
export class TenantsModule {}
