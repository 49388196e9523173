import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { MetricsModule } from '../metrics/metrics.module';
import { AuditCommitted } from './audit-committed';
import { AuditEvent } from './audit-event.entity';
import { AuditPartitions } from './audit-partitions';
import { AuditService } from './audit.service';

@Module({
  imports: [TypeOrmModule.forFeature([AuditEvent]), MetricsModule],
  providers: [AuditService, AuditCommitted],
  exports: [AuditService, AuditCommitted],
})
export class AuditModule {}

/**
 * The audit trail's scheduled upkeep (partitions ahead, retention), apart from AuditModule so
 * modules that only record events do not need the scheduler.
 */
@Module({
  providers: [AuditPartitions],
  exports: [AuditPartitions],
})
export class AuditUpkeepModule {}
